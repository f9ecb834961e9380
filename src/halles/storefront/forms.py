"""Forms of the public site: they parse and validate input; services do the work."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from stdnum.fr import siret

from halles.accounts.models import AccountType, Address, BusinessSector, User, normalize_email


class SignUpForm(forms.Form):
    account_type = forms.ChoiceField(
        label=_("I am"),
        choices=[(AccountType.BUYER, _("a buyer")), (AccountType.SELLER, _("a seller"))],
        widget=forms.RadioSelect,
        initial=AccountType.BUYER,
    )
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    email = forms.EmailField(label=_("E-mail address"))
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    accept_terms = forms.BooleanField(
        label=_("I accept the terms of use and the privacy policy"), required=True
    )

    def __init__(self, *args, marketplace=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.marketplace = marketplace
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        if marketplace is not None and marketplace.buyers_are_organisations:
            self.fields["organisation_name"] = forms.CharField(
                label=_("Organisation"), max_length=200
            )
            self.fields["organisation_siret"] = forms.CharField(
                label=_("SIRET of the organisation"), max_length=20, required=False
            )
            self.fields["sector"] = forms.ModelChoiceField(
                label=_("Business sector"), queryset=BusinessSector.objects.all()
            )

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _(
                    "An account already exists with this e-mail address. Log in or reset your "
                    "password."
                ),
                code="email_taken",
            )
        return email

    def clean_organisation_siret(self):
        value = self.cleaned_data.get("organisation_siret", "").replace(" ", "")
        if value and not siret.is_valid(value):
            raise forms.ValidationError(_("This SIRET number is not valid (14 digits)."))
        return value

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            candidate = User(
                email=cleaned.get("email", ""),
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(p1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail address"), widget=forms.EmailInput(attrs={"autofocus": True})
    )
    error_messages = {
        "invalid_login": _("This e-mail address and password do not match an account."),
        "inactive": _("This account is disabled."),
        "unverified": _(
            "Confirm your e-mail address first: follow the link we sent you, or ask for a new one."
        ),
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.email_verified:
            raise forms.ValidationError(self.error_messages["unverified"], code="unverified")


class ResendVerificationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "phone", "language"]


class AddressForm(forms.ModelForm):
    class Meta:
        model = Address
        fields = [
            "label",
            "full_name",
            "company",
            "line1",
            "line2",
            "postcode",
            "city",
            "country",
            "phone",
            "is_default_billing",
            "is_default_shipping",
        ]

    def clean_country(self):
        value = self.cleaned_data["country"].strip().upper()
        if len(value) != 2 or not value.isalpha():
            raise forms.ValidationError(_("Use a two-letter country code such as FR."))
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("country") == "FR" and cleaned.get("postcode"):
            postcode = cleaned["postcode"].replace(" ", "")
            if not (postcode.isdigit() and len(postcode) == 5):
                self.add_error("postcode", _("A French postcode has 5 digits."))
            else:
                cleaned["postcode"] = postcode
        return cleaned


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label=_("I understand that my account and personal data will be erased for good"),
        required=True,
    )
