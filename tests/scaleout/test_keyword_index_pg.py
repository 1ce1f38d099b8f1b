"""The keyword index's version triggers and cross-process freshness on PostgreSQL (migration 0005's
PL/pgSQL triggers differ from SQLite's): the SQLite tests, run against the scale-out services."""

from tests.core import test_keyword_index as on_sqlite


def test_chunk_changes_bump_the_version_and_hits_do_not(pg_svc, tenant):
    on_sqlite.test_chunk_changes_bump_the_version_and_hits_do_not(pg_svc, tenant)


def test_search_sees_edits_made_by_another_process(pg_svc, pg_settings, tenant):
    on_sqlite.test_search_sees_edits_made_by_another_process(pg_svc, pg_settings, tenant)


def test_large_knowledge_bases_use_the_database_index_until_the_rebuild_is_done(pg_svc, tenant):
    on_sqlite.test_large_knowledge_bases_use_the_database_index_until_the_rebuild_is_done(pg_svc, tenant)


def test_disabled_best_matches_do_not_hide_enabled_ones(pg_svc, tenant):
    on_sqlite.test_disabled_best_matches_do_not_hide_enabled_ones(pg_svc, tenant)
