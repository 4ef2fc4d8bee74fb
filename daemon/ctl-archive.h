/* SPDX-License-Identifier: MIT */
#pragma once

/* Private to fieldwatchctl archive (ctl-archive.c: the command;
 * ctl-archive-documents.c: what goes in; ctl-archive-files.c: where it goes,
 * the file tree with SHA256SUMS, the ISO image): the archive being made. */

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "calendar.h"
#include "config.h"
#include "report.h"
#include "store.h"

/* A CD-R holds 700 MB (80 minutes); decimal megabytes leave room for the
 * ISO 9660 file system's own structures. */
#define ARCHIVE_BYTES_MAX (UINT64_C(700) * 1000 * 1000)
#define ARCHIVE_PLANS_MAX 16
#define ARCHIVE_SCANS_MAX 10000

typedef enum Section {
        SECTION_PLAN,                /* 1 年間計画表及びサポート体制図 */
        SECTION_QUARTERLY,           /* 2 作業実績報告書 */
        SECTION_FAULT,               /* 3 障害復旧作業報告書 */
        SECTION_ERASURE,             /* 4 データ消去報告書 (and its scans) */
        _SECTION_MAX,
} Section;

/* One file of the archive: made here (data) or copied (source). */
typedef struct Entry {
        Section section;
        char *name;                  /* in the archive */
        char *title;                 /* the link's text in index.html */
        char *data;
        size_t size;
        char *source;
        int64_t fault_id;            /* 3, 4: the fault; 0 otherwise */
        bool scan;                   /* 4: a scan of the signed paper copy */
        unsigned char sha256[EVP_MAX_MD_SIZE];
} Entry;

/* A fault whose erasure report is in the archive: its signed paper copy is
 * to be scanned. */
typedef struct ScanNeed {
        int64_t id;
        Day day;                     /* the recovery's day */
        char site[16], device[24];
        size_t n_scans;
} ScanNeed;

typedef struct Archive {
        const Config *config;
        const Calendar *cal;
        Language lang;
        time_t now;
        int fy;
        Day first, last;             /* of the fiscal year, within the contract */
        Entry *v;
        size_t n, allocated;
        ScanNeed *needs;
        size_t n_needs, needs_allocated;
        uint64_t total;
} Archive;

typedef struct ArchiveArgs {
        const char *fiscal_year;
        const char *output;
        const char *scans;
        const char *iso;
        const char *plans[ARCHIVE_PLANS_MAX];
        size_t n_plans;
        int lang;                    /* -1: Japanese, the city's */
} ArchiveArgs;

/* ======================================================================== */
/* What goes in (ctl-archive-documents.c) */

void archive_done(Archive *a);

/* Takes name, title and data (freed on failure too). */
int archive_entry_add(Archive *a, Section section, char *name, char *title, char *data,
                      size_t size, const char *source, int64_t fault_id, bool scan);

/* 1: the annual plan, as the engineer made it. */
int archive_add_plans(Archive *a, const ArchiveArgs *args);
/* 2: the work report of each quarter of the year that has begun. */
int archive_add_quarterlies(Archive *a, Store *store);
/* 3 and 4: the reports of the faults recovered in the year. */
int archive_add_fault_reports(Archive *a, Store *store, time_t from, time_t to);
/* The scans of the signed erasure reports in dir, matched by fault id. */
int archive_add_scans(Archive *a, const char *dir);
/* index.html, linking every entry. */
int archive_build_index(const Archive *a, char **ret, size_t *ret_size);

/* ======================================================================== */
/* Where it goes and writing it (ctl-archive-files.c) */

/* The output: a new directory (its parent exists), or an empty one. */
int archive_check_output(const char *path, bool *ret_exists);
/* The image: a new file, outside the output directory. */
int archive_check_iso(const char *iso, const char *output);

/* By name (so by date), a report's HTML before its CSV (for qsort). */
int archive_entry_name_compare(const void *x, const void *y);

/* The entries and SHA256SUMS into output, built in a hidden directory next
 * to it and renamed into place; nothing is left behind on failure. */
int archive_write(Archive *a, const char *output, bool exists);
/* xorriso's ISO 9660 image of output. */
int archive_write_iso(const Archive *a, const char *output, const char *iso);
