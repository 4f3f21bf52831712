/*
 * ddl/src/frontier.c — table frontiers (cowcat.h: cowcat_table_upper): the
 * logical upper of a table's data shard under txn-wal, found by the table's
 * OID in the published version and asked of the durable catalog (see
 * "tables" in durable/durable.h). O(1): one OID lookup, one txn-wal lookup.
 */
#include <stdio.h>

#include "internal.h"

cowcat_code
cowcat_table_upper(cowcat *db, uint32_t oid, uint64_t *upper, cowcat_error *err)
{
    if (db == NULL || upper == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_table_upper: NULL argument");
    pmap_reader *r;
    cc_err e;
    cc_err_clear(&e);
    if (pmap_reader_new(cat_catalog_domain(db->cat), &r, &e) != CC_OK)
        return ddl__api_error(err, e.code, cc_err_sqlstate(&e), e.msg);
    pmap_reader_pin(r);
    const cat_object *o = cat_state_find_oid(cat_state_acquire(db->cat), oid);
    bool table = o != NULL && o->kind == CAT_KIND_TABLE;
    Cowcat__Catalog__CatalogId id = COWCAT__CATALOG__CATALOG_ID__INIT;
    if (table) {
        id.system = cat_ref_is_system(o->ref);
        id.value = cat_ref_value(o->ref);
    }
    pmap_reader_unpin(r);
    pmap_reader_free(r);
    char msg[64];
    snprintf(msg, sizeof msg, "no table with OID %u", oid);
    if (!table)
        return ddl__api_error(err, CC_NOT_FOUND, "42P01", msg);
    /* Dropped since the lookup: dur_table_upper says NOT_FOUND. */
    if (dur_table_upper(db->dur, &id, upper, &e) != CC_OK)
        return ddl__api_error(err, e.code, e.code == CC_NOT_FOUND ? "42P01" : cc_err_sqlstate(&e),
                              e.code == CC_NOT_FOUND ? msg : e.msg);
    return COWCAT_OK;
}
