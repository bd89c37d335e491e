"""The Billing Hub's Collections page: open cases by step, amount and age (filters), the daily
runs and their progress, and one account's page to work it: promise to pay, payment
arrangement, protection (hold, medical, emergency assistance, dispute, pending payment),
contact attempt and note, with what the next run will do."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from billing.collections import selectors, services
from billing.collections.models import AccountProtection, CollectionRun, ContactAttempt, DunningStep, StepKind
from billing.hub.common import STAFF, form_errors, request_now
from cis.selectors import account_get
from core.actors import Actor
from core.clock import utility_zone
from core.permissions import role_required
from core.runs import progress_response


class FilterForm(forms.Form):
    step = forms.ChoiceField(required=False, choices=[("", "Any step"), ("none", "Not yet notified"), *StepKind.choices])
    min_amount = forms.DecimalField(required=False, min_value=0, decimal_places=2, label="Overdue at least")
    min_age = forms.IntegerField(required=False, min_value=0, max_value=3650, label="Days overdue at least")
    held = forms.ChoiceField(required=False, choices=[("", "Held or not"), ("yes", "Held"), ("no", "Not held")])


class PromiseForm(forms.Form):
    promised_date = forms.DateField()
    amount = forms.DecimalField(min_value=0.01, max_digits=14, decimal_places=2)
    note = forms.CharField(required=False, max_length=200)


class ArrangementForm(forms.Form):
    arrears = forms.DecimalField(min_value=0.01, max_digits=14, decimal_places=2)
    instalments = forms.IntegerField(min_value=1, max_value=24)
    first_due = forms.DateField()
    note = forms.CharField(required=False, max_length=200)


class ProtectionForm(forms.Form):
    kind = forms.ChoiceField(choices=AccountProtection.Kind.choices)
    start_date = forms.DateField()
    end_date = forms.DateField(required=False, help_text="Blank: the rule's days (medical 30, assistance 21).")
    reference = forms.CharField(required=False, max_length=100)
    reason = forms.CharField(max_length=200)


class ContactForm(forms.Form):
    method = forms.ChoiceField(choices=ContactAttempt.Method.choices)
    note = forms.CharField(required=False, max_length=200)


class StepForm(forms.Form):
    delay_days = forms.IntegerField(min_value=0, max_value=3650)
    min_overdue = forms.DecimalField(min_value=0.01, max_digits=14, decimal_places=2)
    notice_days = forms.IntegerField(min_value=0, max_value=365)
    late_charge_percent = forms.DecimalField(required=False, min_value=0, max_value=10, max_digits=5, decimal_places=2)
    reason = forms.CharField(max_length=200)


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea, max_length=4000)


def _account(account_number: str):
    try:
        return account_get(account_number=account_number)
    except ObjectDoesNotExist:
        raise Http404("No such account.") from None


def _today():
    now = request_now()
    return now, now.astimezone(utility_zone()).date()


@role_required(*STAFF)
def collections_page(request):
    now, today = _today()
    form = FilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    cases = selectors.cases_worklist(step=filters.get("step") or "", min_amount=filters.get("min_amount"),
                                     min_age=filters.get("min_age"), held=filters.get("held") or "", on=today)
    return render(request, "billing/collections/hub.html", {
        "tab": "collections", "form": form, "cases": list(cases[:200]), "by_step": selectors.cases_by_step(),
        "runs": selectors.recent_runs(), "steps": selectors.plan_steps(), "today": today,
    })


@require_POST
@role_required(*STAFF)
def collections_run_start(request):
    now, today = _today()
    run = services.collections_run_start(run_date=today, now=now, user=request.user)
    messages.success(request, f"Collections run of {run.run_date}: {run.accounts_total} accounts.")
    return redirect("billing:collections")


@require_POST
@role_required(*STAFF)
def dunning_step_edit(request, step_id: int):
    step = get_object_or_404(DunningStep.objects.select_related("plan"), pk=step_id)
    form = StepForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Step not changed: " + form_errors(form))
        return redirect("billing:collections")
    data = form.cleaned_data
    try:
        services.dunning_step_update(step=step, delay_days=data["delay_days"], min_overdue=data["min_overdue"],
                                     notice_days=data["notice_days"], late_charge_percent=data["late_charge_percent"],
                                     actor=Actor.of(request.user, data["reason"]))
    except ValidationError as exc:
        messages.error(request, "Step not changed: " + "; ".join(exc.messages))
        return redirect("billing:collections")
    messages.success(request, f"{step.plan.name}: {step.get_kind_display()} changed.")
    return redirect("billing:collections")


@role_required(*STAFF)
def collections_run_progress(request, run_id: int):
    return progress_response(get_object_or_404(CollectionRun, pk=run_id))


@role_required(*STAFF)
def collections_account(request, account_number: str):
    account = _account(account_number)
    now, today = _today()
    context = selectors.account_collections(account=account, on=today, now=now)
    context.update({"tab": "collections", "account": account, "promise_form": PromiseForm(),
                    "arrangement_form": ArrangementForm(), "protection_form": ProtectionForm(),
                    "contact_form": ContactForm(), "note_form": NoteForm()})
    return render(request, "billing/collections/account.html", context)


FORMS = {"promise": PromiseForm, "arrangement": ArrangementForm, "protection": ProtectionForm,
         "contact": ContactForm, "note": NoteForm}


@require_POST
@role_required(*STAFF)
def collections_account_act(request, account_number: str, what: str):
    account = _account(account_number)
    form_class = FORMS.get(what)
    if form_class is None:
        messages.error(request, "Unknown action.")
        return redirect("billing:collections_account", account_number)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, "Not saved: " + form_errors(form))
        return redirect("billing:collections_account", account_number)
    data, actor = form.cleaned_data, Actor.of(request.user)
    now, today = _today()
    try:
        if what == "promise":
            services.promise_to_pay_create(account_id=account.pk, promised_date=data["promised_date"], amount=data["amount"],
                                           on=today, actor=actor, note=data["note"])
        elif what == "arrangement":
            services.payment_arrangement_create(account_id=account.pk, arrears=data["arrears"], instalments=data["instalments"],
                                                first_due=data["first_due"], on=today, actor=actor, note=data["note"])
        elif what == "protection":
            services.account_protection_add(account_id=account.pk, kind=data["kind"], start_date=data["start_date"],
                                            end_date=data["end_date"], reference=data["reference"],
                                            reason=data["reason"], actor=actor)
        elif what == "contact":
            services.contact_attempt_record(account_id=account.pk, method=data["method"], at=now, actor=actor, note=data["note"])
        else:
            services.collection_note_add(account_id=account.pk, text=data["text"], actor=actor)
    except ValidationError as exc:
        messages.error(request, "Not saved: " + "; ".join(exc.messages))
        return redirect("billing:collections_account", account_number)
    messages.success(request, "Saved.")
    return redirect("billing:collections_account", account_number)


urlpatterns = [
    path("collections/", collections_page, name="collections"),
    path("collections/run/", collections_run_start, name="collections_run_start"),
    path("collections/steps/<int:step_id>/", dunning_step_edit, name="dunning_step_edit"),
    path("collections/runs/<int:run_id>/progress/", collections_run_progress, name="collections_run_progress"),
    path("collections/accounts/<str:account_number>/", collections_account, name="collections_account"),
    path("collections/accounts/<str:account_number>/<str:what>/", collections_account_act, name="collections_account_act"),
]
