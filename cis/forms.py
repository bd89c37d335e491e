"""Forms of the Customer Service Hub. They validate and describe; they never write: views
pass their cleaned data to cis.services. The move forms repeat the services' preconditions
so the wizard can name a problem next to its field before anything is written; the services
still check again when the move is performed."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.db.models import Q

from core import codes
from core.search import search_provider

from cis import selectors, services
from cis.models import Account, Commodity, Complaint, Contact, Customer, Move, ServiceAgreement, ServicePoint

DAY = dt.timedelta(days=1)

SEARCH_KIND_LABELS = {
    "auto": "Anything (guess from what I type)",
    "name": "Customer name",
    "account": "Account number",
    "address": "Service address",
    "phone": "Phone",
    "email": "Email",
    "id_number": "ID number",
}



def _search_kind_label(kind: str) -> str:
    """cis's own labels; a registered provider (core.search) brings its own."""
    provider = search_provider(kind)
    return provider.label if provider else SEARCH_KIND_LABELS.get(kind, kind)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class SearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    kind = forms.ChoiceField(
        label="Search in", required=False,
        choices=lambda: [(k, _search_kind_label(k)) for k in selectors.search_kinds()],
    )
    status = forms.ChoiceField(label="Account status", required=False, choices=[("", "Any status"), *Account.Status.choices])
    commodity = forms.ChoiceField(label="Commodity", required=False, choices=[("", "Any commodity"), *Commodity.choices])
    page = forms.IntegerField(label="Page", required=False, min_value=1, widget=forms.HiddenInput)

    PER_PAGE = 25

    def search_page(self, *, hidden_kinds: frozenset[str] = frozenset()) -> selectors.SearchPage:
        """The page of results asked for (page 1 when none or out of range is given); the
        `hidden_kinds` (selectors.search_kinds_hidden_from the user) are not searched."""
        if not self.is_valid():
            return selectors.SearchPage([], 1, self.PER_PAGE, False)
        data = self.cleaned_data
        return selectors.search_accounts_page(
            data["q"], kind=data["kind"] or "auto", status=data["status"], commodity=data["commodity"],
            page=data["page"] or 1, per_page=self.PER_PAGE, hidden_kinds=hidden_kinds,
        )

    def search(self) -> list[selectors.SearchHit]:
        return self.search_page().hits

    @staticmethod
    def kind_labels() -> dict[str, str]:
        """Every kind's label, cis's and the registered providers' ("Meter number")."""
        return {k: _search_kind_label(k) for k in selectors.search_kinds()}

    def page_query(self, page: int) -> str:
        """The query string of another page of the same search (for its link)."""
        data = {k: v for k, v in (self.cleaned_data if self.is_valid() else {}).items() if v and k != "page"}
        return urlencode({**data, "page": page})


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}))
    pinned = forms.BooleanField(label="Pin to the top", required=False)


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["channel", "subject", "details", "status", "follow_up_date"]
        widgets = {"details": forms.Textarea(attrs={"rows": 3}), "follow_up_date": DateInput()}


class ComplaintOpenForm(forms.ModelForm):
    class Meta:
        model = Complaint
        fields = ["category", "description", "follow_up_date"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3}), "follow_up_date": DateInput()}


class ComplaintStatusForm(forms.ModelForm):
    class Meta:
        model = Complaint
        fields = ["status", "follow_up_date", "resolution"]
        widgets = {"resolution": forms.Textarea(attrs={"rows": 2}), "follow_up_date": DateInput()}


def _open_on_or_after(day: dt.date) -> Q:
    return Q(end_date__isnull=True) | Q(end_date__gt=day)


def _pending_move(kind: str, service_point: ServicePoint, day: dt.date) -> Move | None:
    return (
        Move.objects.filter(kind=kind, service_point=service_point, effective_date=day, status=Move.Status.PENDING)
        .select_related("account", "requested_by")
        .first()
    )


def _model_choice_field(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    """The form's (per-instance copy of its) model choice field `name`, e.g. to set its queryset."""
    field = form.fields[name]
    if not isinstance(field, forms.ModelChoiceField):
        raise TypeError(f"{type(form).__name__}.{name} is a {type(field).__name__}, not a ModelChoiceField")
    return field


class AgreementChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ServiceAgreement) -> str:
        sp = obj.service_point
        return (
            f"{obj.agreement_number} — {sp.sp_number} ({sp.get_commodity_display()}), "
            f"{sp.premise.address_text()}, rate {obj.rate_code}, since {obj.start_date:%Y-%m-%d}"
        )


class MoveOutForm(forms.Form):
    agreement = AgreementChoiceField(
        label="Agreement to stop", queryset=ServiceAgreement.objects.none(), to_field_name="agreement_number",
        widget=forms.RadioSelect, empty_label=None,
    )
    move_out_date = forms.DateField(
        label="Move-out date", widget=DateInput(),
        help_text="The first day no longer served; the final read is taken on this day.",
    )

    def __init__(self, *args, account: Account, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.today = today
        _model_choice_field(self, "agreement").queryset = (
            ServiceAgreement.objects.filter(_open_on_or_after(today), account=account)
            .select_related("service_point__premise")
            .order_by("start_date", "agreement_number")
        )

    def clean(self):
        data = super().clean()
        agreement: ServiceAgreement | None = data.get("agreement")
        day: dt.date | None = data.get("move_out_date")
        if agreement is None or day is None:
            return data
        if day < self.account.opened_date:
            self.add_error("move_out_date", f"The move-out date is before the account was opened ({self.account.opened_date:%Y-%m-%d}).")
        elif day <= agreement.start_date:
            self.add_error("move_out_date", f"The move-out date must be after the agreement started ({agreement.start_date:%Y-%m-%d}).")
        elif agreement.end_date is not None and agreement.end_date <= day:
            self.add_error("move_out_date", f"Agreement {agreement.agreement_number} already ends on {agreement.end_date:%Y-%m-%d}.")
        elif (pending := _pending_move(Move.Kind.MOVE_OUT, agreement.service_point, day)) is not None:
            self.add_error("move_out_date", f"A move-out at {agreement.service_point.sp_number} on {day:%Y-%m-%d} is already pending (move {pending.pk}).")
        return data

    def preview(self) -> list[str]:
        """What performing the move will do, sentence by sentence, for the confirmation step."""
        agreement: ServiceAgreement = self.cleaned_data["agreement"]
        day: dt.date = self.cleaned_data["move_out_date"]
        sp = agreement.service_point
        who = f"account {self.account.account_number} ({self.account.customer.display_name})"
        stop = (
            f"Agreement {agreement.agreement_number} of {who} at {sp.sp_number}, {sp.premise.address_text()} "
            f"will be stopped, last day served {day - DAY:%Y-%m-%d}."
        )
        lines = []
        if day > self.today:
            lines.append(f"This move is future-dated: it will wait as pending until {day:%Y-%m-%d} and is applied on that day.")
            lines.append(f"On {day:%Y-%m-%d}: {stop[0].lower()}{stop[1:]}")
        else:
            lines.append(stop)
        lines.append(f"A final read is ordered for {day:%Y-%m-%d}.")
        others = ServiceAgreement.objects.filter(_open_on_or_after(day), account=self.account).exclude(pk=agreement.pk)
        if not others.exists():
            lines.append(f"Account {self.account.account_number} will be closed on {day:%Y-%m-%d}: no service is left on it.")
        return lines


class ApplicantForm(forms.ModelForm):
    """A new applicant met in the move-in wizard; validated here, created by customer_create."""

    class Meta:
        model = Customer
        fields = [
            "kind", "first_name", "last_name", "organisation_name", "id_type", "id_number", "phone", "email",
            "mailing_address_line1", "mailing_address_line2", "mailing_city", "mailing_region",
            "mailing_postal_code", "preferred_language", "preferred_contact_method",
        ]
        widgets = {"kind": forms.RadioSelect}
        labels = {
            "id_type": "ID type", "id_number": "ID number", "mailing_address_line1": "Mailing address",
            "mailing_address_line2": "Address line 2", "mailing_city": "City", "mailing_region": "Province / state",
            "mailing_postal_code": "Postal code",
        }

    def clean(self):
        data = super().clean()
        # The database's name constraint is checked too, but its message cannot say which field.
        if data.get("kind") == Customer.Kind.PERSON and not data.get("last_name"):
            self.add_error("last_name", "A person needs a last name.")
        if data.get("kind") == Customer.Kind.ORGANISATION and not data.get("organisation_name"):
            self.add_error("organisation_name", "An organisation needs a name.")
        if not data.get("mailing_address_line1"):
            self.add_error("mailing_address_line1", "A mailing address is needed: the first bill goes there.")
        return data

    def display_name(self) -> str:
        data = self.cleaned_data
        if data["kind"] == Customer.Kind.ORGANISATION:
            return data["organisation_name"]
        return " ".join(p for p in (data["first_name"], data["last_name"]) if p)


class MoveInForm(forms.Form):
    APPLICANT_EXISTING = "existing"
    APPLICANT_NEW = "new"

    sp_query = forms.CharField(
        label="Find a service point", required=False, max_length=200,
        help_text="Part of the address or the service point number.",
    )
    service_point = forms.CharField(
        label="Service point", max_length=20,
        error_messages={"required": "Choose a service point: find it by its address or number first."},
    )
    move_in_date = forms.DateField(label="Move-in date", widget=DateInput(), help_text="The first day served.")
    rate_code = forms.CharField(label="Rate code", max_length=30)
    bill_cycle_code = forms.CharField(
        label="Bill cycle", max_length=20, required=False,
        help_text="For a new account (or one without a cycle). Empty: the default cycle for this service point.",
    )
    applicant = forms.ChoiceField(
        label="Who moves in", widget=forms.RadioSelect, initial=APPLICANT_EXISTING,
        choices=[(APPLICANT_EXISTING, "An existing account"), (APPLICANT_NEW, "A new applicant")],
    )
    account_number = forms.CharField(label="Account number", max_length=20, required=False)

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.sp: ServicePoint | None = None
        self.account: Account | None = None
        self.occupant: ServiceAgreement | None = None
        self.bill_cycle = ""  # the cycle a new account (or one without a cycle) gets; "" to keep the account's

    def chosen_service_point(self) -> ServicePoint:
        """The service point `clean_service_point` found (a valid form has one)."""
        if self.sp is None:
            raise ValueError("MoveInForm has no service point: use it once is_valid() is true.")
        return self.sp

    def existing_account(self) -> Account:
        """The existing account moving in (a valid form for an existing applicant has one)."""
        if self.account is None:
            raise ValueError("MoveInForm has no existing account: the applicant is new, or the form is not valid.")
        return self.account

    def clean_service_point(self) -> str:
        number = self.cleaned_data["service_point"].strip()
        self.sp = ServicePoint.objects.select_related("premise").filter(sp_number__iexact=number).first()
        if self.sp is None:
            raise forms.ValidationError(f"There is no service point {number}.")
        if self.sp.status != ServicePoint.Status.ACTIVE:
            raise forms.ValidationError(f"Service point {self.sp.sp_number} is {self.sp.get_status_display().lower()}.")
        return self.sp.sp_number

    def clean_rate_code(self) -> str:
        code = self.cleaned_data["rate_code"].strip().upper()
        try:
            return codes.validate_code(codes.RATE_CODE, code)
        except codes.UnknownCodeError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_bill_cycle_code(self) -> str:
        code = self.cleaned_data["bill_cycle_code"].strip().upper()
        if code:
            try:
                codes.validate_code(codes.BILL_CYCLE_CODE, code)
            except codes.UnknownCodeError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return code

    def _resolve_bill_cycle(self, data: dict) -> None:
        """Every account has a bill cycle: a new account (or an existing one without a cycle)
        gets the chosen one, else the default for the service point; none at all is refused."""
        if "bill_cycle_code" not in data:  # the chosen cycle was refused: its error is shown
            return
        if data.get("applicant") == self.APPLICANT_EXISTING and (self.account is None or self.account.bill_cycle_code):
            return
        cycle = data["bill_cycle_code"] or services.bill_cycle_default(service_point=self.sp)
        if not cycle:
            self.add_error("bill_cycle_code", services.NO_BILL_CYCLE_MESSAGE)
            return
        try:
            self.bill_cycle = codes.validate_code(codes.BILL_CYCLE_CODE, cycle)
        except codes.UnknownCodeError as exc:
            self.add_error("bill_cycle_code", f"The default cycle is not usable: {exc}")

    def clean(self):
        data = super().clean()
        if data.get("applicant") == self.APPLICANT_EXISTING:
            number = (data.get("account_number") or "").strip()
            if not number:
                self.add_error("account_number", "Enter the account number, or choose a new applicant.")
            else:
                self.account = Account.objects.select_related("customer").filter(account_number=number).first()
                if self.account is None:
                    self.add_error("account_number", f"There is no account {number}.")
        day = data.get("move_in_date")
        if self.sp is None or day is None:
            return data
        later = ServiceAgreement.objects.filter(service_point=self.sp, start_date__gt=day).order_by("start_date").first()
        if later is not None:
            self.add_error(
                "move_in_date",
                f"Agreement {later.agreement_number} starts at {self.sp.sp_number} on {later.start_date:%Y-%m-%d}, "
                "after this date; change or cancel it first.",
            )
            return data
        if (pending := _pending_move(Move.Kind.MOVE_IN, self.sp, day)) is not None:
            self.add_error("move_in_date", f"A move-in at {self.sp.sp_number} on {day:%Y-%m-%d} is already pending for account {pending.account.account_number}.")
            return data
        self.occupant = selectors.active_agreement_on(service_point=self.sp, day=day)
        if self.account is not None and self.occupant is not None and self.occupant.account_id == self.account.pk:
            self.add_error("account_number", f"Account {self.account.account_number} already has service at {self.sp.sp_number} on {day:%Y-%m-%d}.")
        self._resolve_bill_cycle(data)
        return data

    def preview(self, *, applicant: ApplicantForm | None) -> list[str]:
        """What performing the move will do, sentence by sentence, for the confirmation step."""
        day: dt.date = self.cleaned_data["move_in_date"]
        rate = self.cleaned_data["rate_code"]
        sp = self.chosen_service_point()
        lines = []
        if applicant is not None:
            lines.append(
                f"A new customer, {applicant.display_name()} ({applicant.cleaned_data['kind']}), and a new account "
                f"opened {day:%Y-%m-%d} will be created in bill cycle {self.bill_cycle}; the billing address is "
                "the mailing address."
            )
            who = f"the new account ({applicant.display_name()})"
        else:
            account = self.existing_account()
            who = f"account {account.account_number} ({account.customer.display_name})"
            if self.bill_cycle:
                lines.append(f"Account {account.account_number} has no bill cycle yet: it is put in cycle {self.bill_cycle}.")
        prefix = ""
        if day > self.today:
            lines.append(f"This move is future-dated: it will wait as pending until {day:%Y-%m-%d} and is applied on that day.")
            prefix = f"On {day:%Y-%m-%d}: "
        if self.occupant is not None:
            other = self.occupant
            lines.append(
                f"{prefix}Agreement {other.agreement_number} of account {other.account.account_number} "
                f"({other.account.customer.display_name}) will be stopped, last day served {day - DAY:%Y-%m-%d}; "
                "a final read is ordered for it (move clearing house)."
            )
        lines.append(
            f"{prefix}A new agreement for {who} starts {day:%Y-%m-%d} at {sp.sp_number} "
            f"({sp.get_commodity_display()}), {sp.premise.address_text()}, on rate {rate}."
        )
        lines.append(f"An initial read is ordered for {day:%Y-%m-%d}.")
        return lines


class PendingMovesFilterForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=DateInput())
    date_to = forms.DateField(label="Until", required=False, widget=DateInput(), help_text="Inclusive.")
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any kind"), *Move.Kind.choices])

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data


class MoveRequestCompleteForm(forms.Form):
    """A CSR carries out a customer's move request: the service point at the new address (found
    from what the customer wrote), the rate, and the dates (the customer's, changeable)."""
    sp_query = forms.CharField(label="Find the new service point", required=False, max_length=200)
    service_point = forms.CharField(label="Service point at the new address", max_length=20, required=False)
    rate_code = forms.CharField(label="Rate code", max_length=30, required=False)
    bill_cycle_code = forms.CharField(label="Bill cycle", max_length=20, required=False)
    move_out_date = forms.DateField(label="Move-out date", required=False, widget=DateInput())
    move_in_date = forms.DateField(label="Move-in date", required=False, widget=DateInput())
    response = forms.CharField(label="Note for the customer", required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 2}),
                               help_text="Empty: the customer reads what the move did.")

    def __init__(self, *args, move_request, **kwargs):
        super().__init__(*args, **kwargs)
        self.move_request = move_request
        self.sp: ServicePoint | None = None

    def clean(self):
        data = super().clean()
        if self.move_request.kind in ("move_in", "transfer", "new_customer"):
            number = (data.get("service_point") or "").strip()
            if not number:
                self.add_error("service_point", "Choose the service point at the new address.")
            else:
                self.sp = ServicePoint.objects.select_related("premise").filter(sp_number__iexact=number).first()
                if self.sp is None:
                    self.add_error("service_point", f"No service point {number}.")
            if not data.get("rate_code"):
                self.add_error("rate_code", "A rate is required for a move-in.")
            elif not codes.code_exists(codes.RATE_CODE, data["rate_code"]):
                self.add_error("rate_code", f"Unknown rate code {data['rate_code']}.")
        return data


class MoveRequestDeclineForm(forms.Form):
    reason = forms.CharField(label="Why (the customer reads this)", max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))
