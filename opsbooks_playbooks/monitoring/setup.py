"""Check that every required alert exists, with its threshold, in each monitoring tool."""

from __future__ import annotations

import opsbooks as ob
from opsbooks_playbooks.actions.monitoring import action
from opsbooks_playbooks.monitoring import REVIEWED

_RULE_FILES = r"\( -name '*.yml' -o -name '*.yaml' \)"


class MonitoringSetup(ob.Runbook):
    """Validate that the alert rules and thresholds every service needs exist, everywhere
    we monitor it: Prometheus rule files, and the DataDog, New Relic and Splunk exports.

    Run it after changing alert rules or monitors, when onboarding a service, and
    before each quarterly on-call review. The required monitors (instance down, 5xx
    ratio above 5%, p90 latency above 500 ms, disk above 85%, memory above 90%) are
    the built-in list of `opsbooks_playbooks/actions/monitoring/monitors.py`; a team with other
    needs gives its own list as a JSON file (`required`). A monitor counts only if it
    fires at the required threshold or earlier.
    """

    title = "Monitoring and Alerting Setup Check"
    owner = "SRE"
    scope = (
        "The alerting configuration of one service or environment: Prometheus rule files "
        "and Alertmanager config on disk, and monitors exported from DataDog "
        "(GET /api/v1/monitor), New Relic (NerdGraph nrqlConditionsSearch) and Splunk "
        "(GET /servicesNS/-/-/saved/searches?output_mode=json) as JSON files. It reads "
        "files only; it changes no monitor."
    )
    prerequisites = [
        "`promtool` (package prometheus) and, for the Alertmanager check, `amtool` "
        "(package prometheus-alertmanager) on PATH",
        "The rule files checked out (a directory, e.g. /etc/prometheus/rules)",
        "Fresh exports of each vendor's monitors as JSON, e.g. "
        '`curl -fsS -H "DD-API-KEY: $DD_API_KEY" -H "DD-APPLICATION-KEY: $DD_APP_KEY" '
        "https://api.datadoghq.com/api/v1/monitor > datadog.json`",
    ]
    verification = [
        "`promtool check rules` reports SUCCESS for every rule file",
        "Each vendor check says `all N required monitors present with their thresholds`",
        "The thresholds were confirmed against the service's SLOs (gate `thresholds_fit`)",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`promtool check rules` fails with `yaml: unmarshal errors` or `parse error`",
            cause="A rule file is not valid YAML or an expr is not valid PromQL.",
            solution="Run `promtool check rules FILE` on the file it names, fix the line "
            "it reports, and run this runbook again.",
        ),
        ob.Trouble(
            symptom="`missing monitor HighErrorRate (...)`",
            cause="No monitor of that name (or tagged `monitor:error_rate`) is in the export.",
            solution="Add it as the message says (each vendor's line says how), export "
            "again and re-run; or tag the existing monitor `monitor:<id>`.",
        ),
        ob.Trouble(
            symptom="`monitor X fires at > 0.1, not > 0.05 or stricter`",
            cause="The monitor exists but fires later than the SRE standard.",
            solution="Lower its critical threshold to the required value; for DataDog "
            "change both the query and options.thresholds.critical.",
        ),
        ob.Trouble(
            symptom="`the datadog export ... does not have the documented shape`",
            cause="The file is not the raw API answer (an HTML login page, or a wrapper).",
            solution="Export with the API call in the prerequisites and check with "
            "`python -m json.tool FILE`.",
        ),
    ]
    recovery = (
        "Nothing to undo: the runbook only reads files. Fix what a failed check names in "
        "the monitoring tool itself, export again, and resume the run."
    )
    related = ["monitoring.alert_response", "monitoring.sla"]
    last_reviewed = REVIEWED
    review_every_days = 90
    changelog = [
        ob.Change(REVIEWED, "First version: Prometheus, Alertmanager, DataDog, New Relic, Splunk"),
    ]

    class Params(ob.Params):
        rules: ob.NoOption = ob.Field(description="Prometheus rule file, or a directory of them")
        alertmanager_config: ob.NoOption = ob.Field(
            "", description="alertmanager.yml to check with amtool (empty: skip)"
        )
        datadog_export: ob.NoOption = ob.Field(
            "", description="DataDog monitors JSON (empty: skip)"
        )
        newrelic_export: ob.NoOption = ob.Field(
            "", description="New Relic NRQL conditions JSON (empty: skip)"
        )
        splunk_export: ob.NoOption = ob.Field(
            "", description="Splunk saved searches JSON (empty: skip)"
        )
        required: ob.NoOption = ob.Field(
            "", description="JSON list of required monitors (empty: the built-in list)"
        )

    check_rules = ob.Verify(
        f"test -e {{rules}} && "
        f"find {{rules}} -type f {_RULE_FILES} -exec promtool check rules {{}} +",
        title="Check the rule files with promtool",
        expect="promtool accepts every rule file under {rules}",
    )
    check_alertmanager = ob.Verify(
        ["amtool", "check-config", "{alertmanager_config}"],
        when="alertmanager_config",
        title="Check the Alertmanager configuration",
        expect="amtool accepts {alertmanager_config}",
    )
    prometheus_alerts = ob.Verify(
        action(
            "monitors", "--vendor", "prometheus", "--export", "{rules}", "--required={required}"
        ),
        title="Required alerts in the Prometheus rules",
        expect="every required alert is a rule with its threshold",
    )
    datadog_monitors = ob.Verify(
        action(
            "monitors",
            "--vendor",
            "datadog",
            "--export",
            "{datadog_export}",
            "--required={required}",
        ),
        when="datadog_export",
        title="Required monitors in DataDog",
        expect="every required monitor is in the DataDog export with its critical threshold",
    )
    newrelic_conditions = ob.Verify(
        action(
            "monitors",
            "--vendor",
            "newrelic",
            "--export",
            "{newrelic_export}",
            "--required={required}",
        ),
        when="newrelic_export",
        title="Required alert conditions in New Relic",
        expect="every required monitor is an enabled NRQL condition with a CRITICAL term",
    )
    splunk_searches = ob.Verify(
        action(
            "monitors", "--vendor", "splunk", "--export", "{splunk_export}", "--required={required}"
        ),
        when="splunk_export",
        title="Required saved searches in Splunk",
        expect="every required monitor is a scheduled, enabled saved search with its threshold",
    )
    thresholds_fit = ob.Gate.confirm(
        "All required monitors exist with their thresholds. Do the thresholds fit the "
        "service's SLOs and does each alert route to the team that owns it?",
        title="Thresholds fit the SLOs",
        description=(
            "Compare the thresholds with the SLO (an SLO of 99.9% with a 5% error alert "
            "pages too late) and check in Alertmanager (`amtool config routes test "
            "severity=critical service=NAME`) that each alert reaches its owner."
        ),
    )
