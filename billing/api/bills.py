"""Bills over REST: a filtered, paged list; one bill with its segments and lines (each with how
it was worked out and the rate rule behind it) and totals; its PDF, served from the document
stored when it was issued (billing.BillDocument), never rendered in the request.

Roles: CSRs, billing staff and API clients read bills. Only billing staff (and administrators)
see bills that were never issued (drafts, held and approved bills): for everyone else those do
not exist (404), as on the customer's side of the counter."""
from __future__ import annotations

from decimal import Decimal

from django.http import FileResponse
from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import pdf, selectors
from billing.api.accounts import account_or_404
from billing.api.serializers import (
    BillDetailSerializer,
    BillListQuerySerializer,
    BillPdfPreparingSerializer,
    BillSerializer,
)
from billing.models import Bill, BillDocument
from core.http import ApiAutoSchema, ErrorSerializer
from core.roles import Role, has_role

BILL_READERS = (Role.CSR, Role.BILLING, Role.API_CLIENT)
DRAFT_VIEWERS = (Role.BILLING,)  # and administrators

_NO_BILL = OpenApiResponse(ErrorSerializer, description="No bill with that id (or one never issued, for a role "
                                                        "that does not see drafts).")


def sees_drafts(user) -> bool:
    return has_role(user, Role.ADMIN, *DRAFT_VIEWERS)


def _bill_or_404(request, bill_id: int) -> Bill:
    try:
        return selectors.bill_with_segments(bill_id=bill_id, include_drafts=sees_drafts(request.user))
    except Bill.DoesNotExist:
        raise NotFound(f"There is no bill {bill_id}.") from None


class BillList(generics.ListAPIView):
    schema = ApiAutoSchema()
    read_roles = BILL_READERS
    serializer_class = BillSerializer

    @extend_schema(summary="List bills", parameters=[BillListQuerySerializer],
                   description="Newest first (bill date, then id). Roles other than billing staff see only bills "
                               "that were issued (including those cancelled since).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request to read
            return Bill.objects.none()
        query = BillListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        account_id = None
        if q.get("account"):
            account_id = account_or_404(q["account"], field="account").pk
        return selectors.bills_list(
            include_drafts=sees_drafts(self.request.user), account_id=account_id, status=q.get("status", ""),
            kind=q.get("kind", ""), bill_number=q.get("bill_number", "").strip(),
            bill_date_from=q.get("bill_date_after"), bill_date_to=q.get("bill_date_before"), run_id=q.get("run"),
        )


def bill_for_detail(bill: Bill) -> Bill:
    """The bill with what BillDetailSerializer reads beside its fields: its segments and lines
    (each line with how it was worked out and the rule behind it), their sum, and its PDF."""
    segments = list(bill.segments.all())
    document = getattr(bill, "document", None)  # a bill never printed has none
    bill.api_segments = [  # type: ignore[attr-defined]
        {"id": s.pk, "agreement": s.agreement, "service_point": s.service_point, "rate_code": s.rate_code,
         "period_start": s.period_start, "period_end": s.period_end, "live": s.live,
         "determinants": s.determinants or {}, "subtotal": s.subtotal,
         "lines": [{**{f: getattr(line, f) for f in (
             "sequence", "description", "component_kind", "component_code", "quantity", "unit", "price", "tier",
             "tou_period", "proration", "amount")}, "details": line.details or {},
             "how": pdf.line_how(line), "rule": pdf.line_rule(line)} for line in s.lines.all()]}
        for s in segments
    ]
    bill.api_segments_total = sum((s.subtotal for s in segments), start=Decimal("0.00"))  # type: ignore[attr-defined]
    bill.api_replaced_by = getattr(getattr(bill, "replaced_by", None), "pk", None)  # type: ignore[attr-defined]
    bill.api_pdf = f"/api/billing/bills/{bill.pk}/pdf/"  # type: ignore[attr-defined]
    bill.api_pdf_status = document.status if document is not None else None  # type: ignore[attr-defined]
    return bill


class BillDetail(APIView):
    schema = ApiAutoSchema()
    read_roles = BILL_READERS

    @extend_schema(summary="A bill with its segments, lines and totals",
                   responses={200: BillDetailSerializer, 404: _NO_BILL})
    def get(self, request, bill_id: int):
        bill = _bill_or_404(request, bill_id)
        return Response(BillDetailSerializer(bill_for_detail(bill)).data)


class BillPdf(APIView):
    schema = ApiAutoSchema()
    read_roles = BILL_READERS

    def perform_content_negotiation(self, request, force=False):
        # A client asking for application/pdf gets the file; the 202 and the errors are JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="A bill's PDF",
        description="The PDF stored when the bill was issued. When it is not ready (still rendering, failed, or "
                    "out of date after a change to the bill) the answer is 202 with `Retry-After` and a render is "
                    "queued unless one was asked for moments ago; ask again after that many seconds.",
        parameters=[OpenApiParameter("download", OpenApiTypes.BOOL, description="Send as an attachment.")],
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The stored PDF."),
                   202: OpenApiResponse(BillPdfPreparingSerializer, description="Being prepared; ask again."),
                   404: _NO_BILL},
    )
    def get(self, request, bill_id: int):
        bill = _bill_or_404(request, bill_id)
        document = pdf.bill_document_of(bill)
        if pdf.document_is_current(document, bill):
            assert document is not None
            download = request.query_params.get("download", "").lower() in ("1", "true")
            return FileResponse(document.file.open("rb"), content_type="application/pdf", as_attachment=download,
                                filename=f"bill-{bill.bill_number or bill.pk}.pdf")
        now = timezone.now()
        recent = (document is not None and document.status != BillDocument.Status.READY
                  and document.requested_at is not None and now - document.requested_at < pdf.PENDING_STALE)
        if not recent:
            with transaction.atomic():
                pdf.bill_documents_request(bill_ids=[bill.pk], now=now)
            document = pdf.bill_document_of(bill)
        failed = document is not None and document.status == BillDocument.Status.FAILED
        wait = pdf.PREPARING_REFRESH_SECONDS
        detail = (f"The PDF of bill {bill.bill_number or bill.pk} could not be made; it is asked for again."
                  if failed else f"The PDF of bill {bill.bill_number or bill.pk} is being prepared; "
                                 f"ask again in {wait} seconds.")
        response = Response(BillPdfPreparingSerializer({
            "detail": detail, "status": "failed" if failed else "pending", "retry_after": wait}).data,
            status=status.HTTP_202_ACCEPTED)
        response["Retry-After"] = str(wait)
        response["Cache-Control"] = "no-store"
        return response

