"""The customer's own data over REST, for a personal token (portal.api.auth): their linked
accounts, bills, usage and Green Button file. Every view finds the account through
portal.scoping.linked_account, so another customer's account or bill is a 404 exactly like one
that does not exist (portal/tests/test_api.py walks every route with another's ids)."""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Sum
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from billing.selectors import bill_with_segments, bills_list, ledger_entries
from cis.selectors import service_addresses
from core.clock import utility_zone
from core.http import ApiAutoSchema
from portal.api.auth import PersonalTokenAuthentication, PersonalTokenReadOnly
from portal.api.serializers import (
    AccountOut, BillDetailOut, BillOut, RangeQuery, UsageQuery, UsageRowOut,
)
from portal.models import AccountLink
from portal.presenting import explain_line
from portal.scoping import linked_account
from portal.usage import account_usage, group_usage
from portal.views import greenbutton_bytes

TAGS = ["portal (my data)"]


class MyDataPages(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


class _MyData(GenericAPIView):
    authentication_classes = [PersonalTokenAuthentication]
    permission_classes = [PersonalTokenReadOnly]
    pagination_class = MyDataPages
    schema = ApiAutoSchema()  # the 400/401/403/404 answers, documented with their bodies
    queryset = AccountLink.objects.none()  # for the schema generator only: every view reads through its selectors

    def account(self, account_number: str):
        return linked_account(self.request.user, account_number)


def _account_row(acct, address: str) -> dict:
    balance = ledger_entries(account_id=acct.pk).aggregate(total=Sum("amount"))["total"] or 0
    last = bills_list(include_drafts=False, account_id=acct.pk, status="issued").first()
    return {"account_number": acct.account_number, "status": acct.status, "service_address": address,
            "balance": balance, "amount_due": last.amount_due if last else None,
            "due_date": last.due_date if last else None}


@extend_schema(tags=TAGS)
class AccountList(_MyData):
    serializer_class = AccountOut

    @extend_schema(operation_id="portal_my_accounts", summary="My linked accounts", responses=AccountOut(many=True))
    def get(self, request):
        links = AccountLink.objects.filter(user=request.user).select_related("account").order_by("linked_at", "id")
        accounts = [link.account for link in links]
        addresses = service_addresses([a.pk for a in accounts])
        page = self.paginate_queryset(accounts)
        return self.get_paginated_response(
            AccountOut([_account_row(a, addresses.get(a.pk, "")) for a in page], many=True).data)


@extend_schema(tags=TAGS)
class AccountDetail(_MyData):
    serializer_class = AccountOut

    @extend_schema(operation_id="portal_my_account", summary="One of my accounts")
    def get(self, request, account_number: str):
        acct = self.account(account_number)
        return Response(AccountOut(_account_row(acct, service_addresses([acct.pk]).get(acct.pk, ""))).data)


@extend_schema(tags=TAGS)
class BillList(_MyData):
    serializer_class = BillOut

    @extend_schema(operation_id="portal_my_bills", summary="My issued bills, newest first")
    def get(self, request, account_number: str):
        acct = self.account(account_number)
        page = self.paginate_queryset(bills_list(include_drafts=False, account_id=acct.pk))
        return self.get_paginated_response(BillOut(page, many=True).data)


@extend_schema(tags=TAGS)
class BillDetail(_MyData):
    serializer_class = BillDetailOut

    @extend_schema(operation_id="portal_my_bill", summary="One of my bills, each line explained")
    def get(self, request, account_number: str, bill_id: int):
        acct = self.account(account_number)
        try:
            bill = bill_with_segments(bill_id=bill_id, include_drafts=False)
        except ObjectDoesNotExist:
            raise Http404("No such bill.") from None
        if bill.account_id != acct.pk:
            raise Http404("No such bill.")
        lines = []
        for segment in bill.segments.all():
            if not (segment.live or bill.status == "cancelled"):
                continue
            for line in segment.lines.all():
                explained = explain_line(line)
                lines.append({"description": explained.label, "quantity": line.quantity, "unit": line.unit or "",
                              "price": line.price, "amount": line.amount, "how": explained.how})
        data = BillOut(bill).data
        data["lines"] = lines
        return Response(BillDetailOut(data).data)


@extend_schema(tags=TAGS)
class Usage(_MyData):
    serializer_class = UsageRowOut

    @extend_schema(operation_id="portal_my_usage", summary="My interval usage, per interval or totalled per local hour, day or month",
                   parameters=[UsageQuery], responses=UsageRowOut(many=True))
    def get(self, request, account_number: str):
        acct = self.account(account_number)
        query = UsageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end, group = query.validated_data["start"], query.validated_data["end"], query.validated_data["group"]
        tz = utility_zone()
        rows = []
        for s in account_usage(account=acct, start_date=start, end_date=end + dt.timedelta(days=1), tz=tz):
            if group == "interval":
                for at, value, estimated in s.points():
                    rows.append({"service_point": s.sp_number, "unit": s.unit, "direction": s.direction,
                                 "period": at.isoformat().replace("+00:00", "Z"),
                                 "actual": 0.0 if estimated else value, "estimated": value if estimated else 0.0})
            else:
                for bucket in group_usage(s, by=group, tz=tz):
                    rows.append({"service_point": s.sp_number, "unit": s.unit, "direction": s.direction,
                                 "period": bucket.label, "actual": bucket.actual, "estimated": bucket.estimated})
        page = self.paginate_queryset(rows)  # type: ignore[arg-type]  # DRF pages any sequence
        return self.get_paginated_response(UsageRowOut(page, many=True).data)


@extend_schema(tags=TAGS)
class GreenButton(_MyData):
    @extend_schema(operation_id="portal_my_greenbutton", summary="Green Button Download My Data (NAESB ESPI Atom XML)", parameters=[RangeQuery],
                   responses={(200, "application/atom+xml"): OpenApiResponse(OpenApiTypes.STR)})
    def get(self, request, account_number: str):
        acct = self.account(account_number)
        query = RangeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["start"], query.validated_data["end"]
        body = greenbutton_bytes(acct, start, end + dt.timedelta(days=1))
        response = HttpResponse(body, content_type="application/atom+xml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="greenbutton-{acct.account_number}-{start}-{end}.xml"'
        return response



