"""Every billing rule the docs state points at the tests that prove it (issue 14).

The README, docs/CATALOG.md and docs/MEDIA.md mark each billing rule with ``<!-- rule: id -->``.
This walks the markers: a rule without proof, a proof whose test does not exist, or a proof for a
rule the docs no longer state, fails here. (``price_long`` was once documented and applied by
nothing; a rule now has to name its test.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "docs/CATALOG.md", "docs/MEDIA.md")

PROOFS: dict[str, list[str]] = {
    "units": ["tests/unit/test_catalog_schema.py::test_every_schema_field_is_read_by_code",
              "tests/unit/test_catalog_schema.py::test_an_unknown_key_fails_the_load"],
    "hold": ["tests/unit/test_price_rules.py::test_the_hold_uses_the_cache_write_rate_when_the_request_can_write",
             "tests/e2e/test_holds_cover_cost.py::test_openai_without_max_tokens_is_held_for_the_model_maximum",
             "tests/e2e/test_holds_cover_cost.py::test_n_choices_are_held_and_billed_in_full",
             "tests/e2e/test_holds_cover_cost.py::test_a_broke_wallet_never_reaches_the_upstream",
             "tests/e2e/test_money.py::test_fifty_concurrent_on_wallet_for_ten"],
    "success": ["tests/unit/test_price_rules.py::test_success_bills_each_token_kind_at_its_own_price",
                "tests/unit/test_price_rules.py::test_the_bill_never_passes_the_hold",
                "tests/contract/test_providers_sdk.py::test_text_both_surfaces_priced_from_catalog"],
    "price-rules": ["tests/e2e/test_price_tiers.py::test_long_context_prompts_are_held_and_billed_at_the_long_tier",
                    "tests/unit/test_price_rules.py::test_deepseek_off_peak_rates_outside_the_peak_windows",
                    "tests/unit/test_price_rules.py::test_an_announced_price_applies_from_its_effective_date"],
    "failures": ["tests/e2e/test_money.py::test_failure_before_first_byte_bills_zero",
                 "tests/e2e/test_money.py::test_error_mid_stream_bills_zero",
                 "tests/e2e/test_money.py::test_upstream_drop_mid_stream_bills_zero",
                 "tests/e2e/test_stream_silences.py::test_silence_past_the_idle_limit_ends_in_a_timeout_error_and_bills_nothing",
                 "tests/faults/test_upstream_faults.py::test_malformed_upstream_body_after_200"],
    "disconnect": ["tests/e2e/test_money.py::test_client_disconnect_bills_only_what_was_received",
                   "tests/e2e/test_money.py::test_disconnect_before_content_bills_zero",
                   "tests/faults/test_client_disconnect.py::test_non_streaming_hangup_cancels_the_upstream_and_bills_nothing",
                   "tests/unit/test_pipeline_hangup.py::test_a_hangup_mid_read_cancels_the_read_and_bills_nothing",
                   "tests/soak/test_abort_billing.py::test_abort_on_claude_bills_the_output_received"],
    "silences": ["tests/e2e/test_stream_silences.py::test_every_lane_survives_silences_longer_than_the_ping_interval",
                 "tests/e2e/test_stream_silences.py::test_the_production_ping_interval"],
    "quotas": ["tests/e2e/test_quota.py::test_member_quota_is_never_overspent_under_50_concurrent_requests",
               "tests/e2e/test_quota.py::test_a_limited_masters_quota_covers_its_sub_keys_under_50_concurrent_requests"],
    "idempotency": ["tests/e2e/test_money.py::test_idempotency_key_never_holds_twice"],
    "release": ["tests/e2e/test_money.py::test_mixed_requests_conserve_money",
                "tests/e2e/test_money.py::test_redelivered_stream_record_refunds_once",
                "tests/e2e/test_money.py::test_hold_abandoned_by_crash_is_swept"],
    "long-tier": ["tests/unit/test_price_rules.py::test_long_context_tier_at_both_sides_of_the_threshold",
                  "tests/unit/test_price_rules.py::test_the_hold_is_sized_at_the_long_tier_when_the_prompt_may_cross_it",
                  "tests/e2e/test_price_tiers.py::test_long_context_prompts_are_held_and_billed_at_the_long_tier"],
    "off-peak": ["tests/unit/test_price_rules.py::test_deepseek_off_peak_rates_outside_the_peak_windows"],
    "price-next": ["tests/unit/test_price_rules.py::test_an_announced_price_applies_from_its_effective_date"],
    "cache-defaults": ["tests/unit/test_price_rules.py::test_missing_cache_prices_bill_as_input"],
    "media-units": ["tests/contract/test_media_embeddings.py::test_float_shape_and_billing",
                    "tests/contract/test_media_embeddings.py::test_gemini_bills_the_held_count",
                    "tests/contract/test_media_rerank.py::test_rerank_shape_and_billing",
                    "tests/contract/test_media_rerank.py::test_cohere_search_units_count_chunks",
                    "tests/contract/test_media_images.py::test_gpt_image_b64_bills_per_image",
                    "tests/contract/test_media_images.py::test_auto_is_held_at_the_dearest_and_settled_at_what_was_made",
                    "tests/contract/test_media_audio.py::test_speech_streams_wav_and_bills_per_character",
                    "tests/contract/test_media_audio.py::test_transcription_multipart_bills_reported_seconds",
                    "tests/contract/test_media_video.py::test_create_poll_download_and_bill"],
    "media-cap": ["tests/unit/test_price_rules.py::test_the_bill_never_passes_the_hold"],
    "media-failures": ["tests/contract/test_media_embeddings.py::test_upstream_failure_bills_zero",
                       "tests/contract/test_media_images.py::test_failed_generation_bills_zero",
                       "tests/contract/test_media_rerank.py::test_upstream_failure_bills_zero",
                       "tests/contract/test_media_audio.py::test_speech_failure_bills_zero",
                       "tests/contract/test_media_video.py::test_failed_upstream_job_bills_zero_and_releases"],
}


def _stated_rules() -> dict[str, str]:
    found: dict[str, str] = {}
    for doc in DOCS:
        for rule in re.findall(r"<!-- rule: ([a-z0-9-]+) -->", (ROOT / doc).read_text()):
            assert rule not in found, f"rule {rule} is marked twice ({found[rule]}, {doc})"
            found[rule] = doc
    return found


def _test_functions(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
            names.add(node.name)
    return names


def test_every_stated_billing_rule_names_its_proof() -> None:
    stated = _stated_rules()
    assert len(stated) >= 15
    assert set(stated) - set(PROOFS) == set(), f"rules stated without a proof: {set(stated) - set(PROOFS)}"
    assert set(PROOFS) - set(stated) == set(), f"proofs of rules no doc states: {set(PROOFS) - set(stated)}"


def test_every_proof_is_a_test_that_exists() -> None:
    for rule, proofs in PROOFS.items():
        assert proofs, rule
        for proof in proofs:
            path, _, name = proof.partition("::")
            assert (ROOT / path).is_file(), (rule, proof)
            assert name in _test_functions(ROOT / path), f"rule {rule}: {proof} is not a test function"
