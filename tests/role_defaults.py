"""The roles' defaults as their meta/argument_specs.yml declare them: the one place a default is
written. Tests build module parameters from here, never from defaults of their own."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# toll_fraud_policy's parameters and the role variable each is fed from, as in
# roles/toll_fraud_guard/tasks/policy_compile.yml (a unit test keeps the two equal). Parameters computed
# by the task from several variables (outside_line 'auto', trunks, alert_destinations) are left to
# the caller.
TOLL_FRAUD_POLICY_VARIABLES = {
    "site_country": "voipguard_site_country",
    "local_area_code": "toll_fraud_guard_local_area_code",
    "international_prefixes": "toll_fraud_guard_international_prefixes",
    "blocked_countries": "toll_fraud_guard_blocked_countries",
    "allowed_countries": "toll_fraud_guard_allowed_countries",
    "blocked_prefixes": "toll_fraud_guard_blocked_prefixes",
    "block_premium_rate": "toll_fraud_guard_block_premium_rate_enabled",
    "rates": "toll_fraud_guard_rates",
    "default_price_per_minute": "toll_fraud_guard_default_price_per_minute",
    "max_price_per_minute": "toll_fraud_guard_max_price_per_minute",
    "budgets": "toll_fraud_guard_budgets",
    "max_call_seconds": "toll_fraud_guard_max_call_seconds",
    "min_call_seconds": "toll_fraud_guard_min_call_seconds",
    "budget_national": "toll_fraud_guard_budget_national_enabled",
    "max_concurrent_calls": "toll_fraud_guard_max_concurrent_calls",
    "endpoint_max_concurrent_calls": "toll_fraud_guard_endpoint_max_concurrent_calls",
    "trunk_max_concurrent_calls": "toll_fraud_guard_trunk_max_concurrent_calls",
    "calls_per_minute": "toll_fraud_guard_calls_per_minute",
    "endpoint_calls_per_minute": "toll_fraud_guard_endpoint_calls_per_minute",
    "burst_calls": "toll_fraud_guard_burst_calls",
    "burst_window": "toll_fraud_guard_burst_window",
    "business_hours": "toll_fraud_guard_business_hours",
    "block_on_alert": "toll_fraud_guard_block_on_alert",
    "alert_webhook_url": "toll_fraud_guard_alert_webhook_url",
    "emergency_numbers": "toll_fraud_guard_emergency_numbers",
    "internal_patterns": "toll_fraud_guard_internal_patterns",
    "exempt_endpoints": "toll_fraud_guard_exempt_endpoints",
    "trunk_boundary": "toll_fraud_guard_trunk_boundary_enabled",
}


def argument_specs(role):
    """The main entry point's options of a role."""
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"]


def role_defaults(role):
    """{variable: default} of every option of a role that declares one."""
    return dict((name, spec["default"]) for name, spec in argument_specs(role).items()
                if "default" in spec)


def toll_fraud_policy_params(site_country="DE", **overrides):
    """toll_fraud_policy's parameters for the role's defaults, then the overrides."""
    defaults = role_defaults("toll_fraud_guard")
    params = dict((param, defaults.get(variable)) for param, variable
                  in TOLL_FRAUD_POLICY_VARIABLES.items())
    params.update(site_country=site_country, outside_line="", trunks=[], alert_destinations=0)
    params.update(overrides)
    return params


def compiled_policy_params(site_country="DE", **overrides):
    """dial_policy.compile_policy's parameters: the module's (toll_fraud_policy_params), and what
    the module decides itself - outside_line_as_dialed_too False, as with the trunk boundary on,
    and local_area_code "" for auto, as without a route that shows one."""
    params = toll_fraud_policy_params(site_country, outside_line_as_dialed_too=False, local_area_code="")
    params.update(overrides)
    return params
