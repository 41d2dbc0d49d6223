from django.urls import path

from surveillance import views

app_name = "surveillance"

urlpatterns = [
    path("", views.alert_queue, name="queue"),
    path("alerts.csv", views.alert_csv, name="alert_csv"),
    path("alerts/to-case", views.alerts_to_case, name="alerts_to_case"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert"),
    path("alerts/<int:alert_id>/assign", views.alert_assign, name="alert_assign"),
    path("alerts/<int:alert_id>/comment", views.alert_comment, name="alert_comment"),
    path("alerts/<int:alert_id>/escalate", views.alert_escalate, name="alert_escalate"),
    path("alerts/<int:alert_id>/close", views.alert_close, name="alert_close"),
    path("alerts/<int:alert_id>/case", views.alert_case, name="alert_case"),
    path("cases/", views.case_list, name="cases"),
    path("cases.csv", views.case_csv, name="case_csv"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/report", views.case_report, name="case_report"),
    path("cases/<int:case_id>/comment", views.case_comment, name="case_comment"),
    path("cases/<int:case_id>/close", views.case_close, name="case_close"),
    path("parameters/", views.parameters, name="parameters"),
    path("owners/", views.owners, name="owners"),
    path("metrics/", views.metrics, name="metrics"),
    path("backtest/", views.backtest, name="backtest"),
    path("backtest/<int:run_id>/", views.backtest_run, name="backtest_run"),
]
