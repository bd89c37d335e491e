"""The Billing Hub: server-rendered pages for billing staff (cycles and runs with live
progress, the pre-bill exceptions worklist, bills with cancel/rebill and print, final bills,
rate schedules, the bill calculator). Each view makes one service call and maps domain
errors to messages; the services live in billing.services.runs, billing.services.prebill, billing.services.rebill,
billing.services.rates, billing.calculator and billing.pdf."""
