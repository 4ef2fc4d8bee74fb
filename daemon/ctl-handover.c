/* SPDX-License-Identifier: MIT */

/* fieldwatchctl handover and purge: the contract's end (issue 14; 別記1
 * 第10条, 別記2 第12条). handover exports every record and the reports to a
 * directory (read access only); purge, with the daemon stopped, erases the
 * personal data and the credentials for good, records the disposal and
 * prints the disposal report. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "calendar.h"
#include "control.h"
#include "ctl.h"
#include "fileio.h"
#include "macro.h"
#include "report.h"
#include "store-handover.h"
#include "store-report.h"
#include "text.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Calendar *, calendar_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

/* ======================================================================== */
/* Files of the hand-over */

typedef struct Out {
        int dfd;                     /* the output directory */
        const char *dir;
        FILE *sums;                  /* SHA256SUMS, in memory */
        char *sums_buf;
        size_t sums_size;
        size_t n_files;
} Out;

/* Writes name (may name a subdirectory made before) inside the output
 * directory, 0600, never over an existing file; adds it to SHA256SUMS. */
static int out_file(Out *o, const char *name, const void *data, size_t len) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        int fd, r;

        fd = openat(o->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
                r = -errno;
                fprintf(stderr, "Cannot create %s/%s: %s\n", o->dir, name, strerror(-r));
                return r;
        }
        r = loop_write(fd, data, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r < 0) {
                fprintf(stderr, "Cannot write %s/%s: %s\n", o->dir, name, strerror(-r));
                return r;
        }
        o->n_files++;
        if (!o->sums)
                return 0;            /* SHA256SUMS itself */
        if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL))
                return -EIO;
        for (unsigned i = 0; i < md_len; i++)
                fprintf(o->sums, "%02x", md[i]);
        fprintf(o->sums, "  %s\n", name);
        return 0;
}

/* A column holding a time (Unix seconds in the database): "at", "*_at", "*_due". */
static bool time_column(const char *name) {
        size_t n = strlen(name);

        return streq(name, "at") || (n > 3 && streq(name + n - 3, "_at")) ||
               (n > 4 && streq(name + n - 4, "_due"));
}

typedef struct TableExport {
        FILE *csv;
        json_t *rows;
        bool header_done;
        int r;
} TableExport;

static int export_row(const StoreCell *cells, size_t n, void *userdata) {
        TableExport *t = userdata;
        json_t *o = json_object();

        if (!o || json_array_append_new(t->rows, o) < 0)
                return t->r = -ENOMEM;
        if (!t->header_done) {
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                fputc(',', t->csv);
                        report_csv_cell(t->csv, cells[i].name);
                }
                fputs("\r\n", t->csv);
                t->header_done = true;
        }
        for (size_t i = 0; i < n; i++) {
                const StoreCell *c = &cells[i];
                char b[64] = "";
                json_t *v;

                if (c->type == STORE_CELL_INTEGER && time_column(c->name) && c->integer > 0) {
                        format_iso_datetime((time_t) c->integer, b);
                        v = json_string(b);
                } else if (c->type == STORE_CELL_INTEGER) {
                        (void) snprintf(b, sizeof(b), "%" PRId64, c->integer);
                        v = json_integer(c->integer);
                } else if (c->type == STORE_CELL_REAL) {
                        (void) snprintf(b, sizeof(b), "%.17g", c->real);
                        v = json_real(c->real);
                } else if (c->type == STORE_CELL_TEXT) {
                        v = json_string(c->text);
                        if (!v) {
                                /* Not UTF-8 (an older version's row): made valid. */
                                size_t len = strlen(c->text);
                                _cleanup_(freep) char *clean = malloc(3 * len + 1);

                                if (!clean)
                                        return t->r = -ENOMEM;
                                (void) text_clean(clean, 3 * len + 1, c->text, len);
                                v = json_string(clean);
                        }
                } else
                        v = json_null();
                if (i > 0)
                        fputc(',', t->csv);
                report_csv_cell(t->csv, c->type == STORE_CELL_TEXT ? c->text : b);
                if (!v || json_object_set_new(o, c->name, v) < 0)
                        return t->r = -ENOMEM;
        }
        fputs("\r\n", t->csv);
        return 0;
}

/* data/TABLE.csv and data/TABLE.json: every row, every column. */
static int export_table(Out *o, Store *store, const char *table) {
        _cleanup_(freep) char *csv_buf = NULL, *json_text = NULL;
        char name[64];
        size_t csv_size = 0;
        TableExport t = {};
        int r;

        t.csv = open_memstream(&csv_buf, &csv_size);
        t.rows = json_array();
        if (!t.csv || !t.rows) {
                if (t.csv)
                        fclose(t.csv);
                json_decref(t.rows);
                return -ENOMEM;
        }
        fputs("\xEF\xBB\xBF", t.csv);
        r = store_export_table(store, table, export_row, &t);
        if (r >= 0 && t.r < 0)
                r = t.r;
        if (fclose(t.csv) != 0 && r >= 0)
                r = -ENOMEM;
        if (r >= 0) {
                json_text = json_dumps(t.rows, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                if (!json_text)
                        r = -ENOMEM;
        }
        json_decref(t.rows);
        if (r < 0) {
                fprintf(stderr, "Cannot read the table %s: %s\n", table, strerror(-r));
                return r;
        }
        (void) snprintf(name, sizeof(name), "data/%s.csv", table);
        r = out_file(o, name, csv_buf, csv_size);
        if (r >= 0) {
                (void) snprintf(name, sizeof(name), "data/%s.json", table);
                r = out_file(o, name, json_text, strlen(json_text));
        }
        return r;
}

static int out_report(Out *o, const char *name, int r, char *text) {
        _cleanup_(freep) char *t = text;

        if (r < 0) {
                fprintf(stderr, "Cannot make %s: %s\n", name, strerror(-r));
                return r;
        }
        return out_file(o, name, t, strlen(t));
}

/* reports/: each quarter's work report and SLA report (HTML and CSV), the
 * incidents of the contract, each fault's recovery report and, where a
 * medium was replaced, its erasure report. */
static int export_reports(Out *o, ReportContext *ctx, Store *store) {
        const ContractConf *k = &ctx->config->contract;
        int y0, m0, d0, y1, m1, d1, r = 0;
        char name[PATH_MAX];
        ReportFault *faults = NULL;
        size_t n_faults = 0;

        day_to_ymd(k->start, &y0, &m0, &d0);
        day_to_ymd(k->end, &y1, &m1, &d1);
        for (int q = y0 * 4 + (m0 - 1) / 3; r >= 0 && q <= y1 * 4 + (m1 - 1) / 3; q++) {
                ReportFault *f = NULL;
                ReportWork *w = NULL;
                size_t nf = 0, nw = 0;
                char label[16];
                ReportPeriod p;

                (void) snprintf(label, sizeof(label), "%dQ%d", q / 4, q % 4 + 1);
                if (report_quarter_parse(label, k, &p) < 0 || report_period_clip(&p, ctx->now) < 0)
                        continue;
                r = store_report_faults(store, p.from, p.to, &f, &nf);
                if (r >= 0)
                        r = store_report_work(store, p.from, p.to, &w, &nw);
                for (ReportFormat fmt = REPORT_FORMAT_HTML; r >= 0 && fmt <= REPORT_FORMAT_CSV;
                     fmt++) {
                        char *text = NULL;

                        ctx->format = fmt;
                        (void) snprintf(name, sizeof(name), "reports/quarterly-%s.%s", label,
                                        report_format_to_string(fmt));
                        r = report_quarterly(ctx, &p, w, nw, f, nf, NULL, 0, &text);
                        r = out_report(o, name, r, text);
                        if (r < 0)
                                break;
                        (void) snprintf(name, sizeof(name), "reports/sla-%s.%s", label,
                                        report_format_to_string(fmt));
                        r = report_sla(ctx, &p, f, nf, &text);
                        r = out_report(o, name, r, text);
                }
                report_faults_free(f, nf);
                report_works_free(w, nw);
        }
        if (r < 0)
                return r;

        /* The incidents of the whole contract, so far. */
        {
                ReportPeriod p = { .first = k->start, .last = k->end };
                ReportIncident *v = NULL;
                size_t n = 0;

                (void) snprintf(p.label, sizeof(p.label), "contract");
                if (instant_from_local(k->start, 0, &p.from) < 0 ||
                    instant_from_local(k->end + 1, 0, &p.to) < 0)
                        return -ERANGE;
                r = store_report_incidents(store, p.from, p.to, &v, &n);
                for (ReportFormat fmt = REPORT_FORMAT_HTML; r >= 0 && fmt <= REPORT_FORMAT_CSV;
                     fmt++) {
                        char *text = NULL;

                        ctx->format = fmt;
                        (void) snprintf(name, sizeof(name), "reports/incidents.%s",
                                        report_format_to_string(fmt));
                        r = report_incidents(ctx, &p, v, n, &text);
                        r = out_report(o, name, r, text);
                }
                report_incidents_free(v, n);
                if (r < 0)
                        return r;

                /* Every fault's reports. */
                r = store_report_faults(store, 0, p.to > ctx->now ? p.to : ctx->now + 1,
                                        &faults, &n_faults);
                if (r < 0)
                        return r;
        }
        ctx->format = REPORT_FORMAT_HTML;
        for (size_t i = 0; r >= 0 && i < n_faults; i++) {
                char *text = NULL;

                if (faults[i].recovered_at == 0)
                        continue;
                (void) snprintf(name, sizeof(name), "reports/fault-%" PRId64 ".html",
                                faults[i].id);
                r = report_fault(ctx, &faults[i], &text);
                r = out_report(o, name, r, text);
                if (r < 0 || !faults[i].media_replaced)
                        continue;
                (void) snprintf(name, sizeof(name), "reports/erasure-%" PRId64 ".html",
                                faults[i].id);
                r = report_erasure(ctx, &faults[i], &text);
                r = out_report(o, name, r, text);
        }
        report_faults_free(faults, n_faults);
        return r;
}

/* The configuration as it is: it names credentials (files in the
 * credentials directory) but never holds a secret (SPEC §7). */
static int export_config(Out *o, const char *path) {
        _cleanup_(freep) char *data = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                fprintf(stderr, "Cannot read %s: %s\n", path, strerror(-r));
                return r;
        }
        {
                FILE *m = open_memstream(&data, &size);
                char buf[4096];
                size_t n;

                if (!m) {
                        fclose(f);
                        return -ENOMEM;
                }
                while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                        fwrite(buf, 1, n, m);
                r = ferror(f) ? -EIO : 0;
                if (fclose(m) != 0 && r == 0)
                        r = -ENOMEM;
        }
        fclose(f);
        if (r < 0)
                return r;
        return out_file(o, "config/fieldwatch.yaml", data, size);
}

/* The directory must not exist, or be empty: nothing is ever overwritten. */
static int open_output_dir(const char *dir, int *ret) {
        struct dirent *de;
        DIR *d;
        int fd;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                fprintf(stderr, "Cannot make %s: %s\n", dir, strerror(errno));
                return -errno;
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "Cannot open %s: %s\n", dir, strerror(errno));
                return -errno;
        }
        d = fdopendir(dup(fd));
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        closedir(d);
                        close(fd);
                        fprintf(stderr, "%s exists and is not empty: nothing was written "
                                "(give a new or empty directory).\n", dir);
                        return -EEXIST;
                }
        closedir(d);
        *ret = fd;
        return 0;
}

int ctl_handover(const GlobalOptions *g, int argc, char **argv) {
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "lang", required_argument, NULL, 'l' },
                {},
        };
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(calendar_freep) Calendar *cal = NULL;
        _cleanup_(store_closep) Store *store = NULL;
        const char *dir = NULL;
        int lang = -1, c, r;
        Out o = { .dfd = -1 };
        ReportContext ctx;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c == 'o' && optarg[0])
                        dir = optarg;
                else if (c == 'l' && (streq(optarg, "ja") || streq(optarg, "en")))
                        lang = streq(optarg, "ja") ? LANGUAGE_JA : LANGUAGE_EN;
                else
                        return ctl_usage_error(argv[0], "unknown or invalid option '%s'",
                                               argv[optind - 1]);
        }
        if (optind < argc)
                return ctl_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
        if (!dir)
                return ctl_usage_error(argv[0], "--output DIR is required");
        if (cli_setup(g, false, &config, &cal) < 0)
                return CTL_EXIT_FAILURE;
        if (config->contract.start == DAY_INVALID) {
                fprintf(stderr, "%s has no contract: section: the hand-over covers the "
                        "contract's period.\n", config->path ?: "The configuration");
                return CTL_EXIT_FAILURE;
        }
        if (ctl_open_store(g, &store) < 0)
                return CTL_EXIT_FAILURE;
        if (open_output_dir(dir, &o.dfd) < 0)
                return CTL_EXIT_FAILURE;
        o.dir = dir;
        o.sums = open_memstream(&o.sums_buf, &o.sums_size);
        r = o.sums ? 0 : -ENOMEM;
        if (r >= 0 && (mkdirat(o.dfd, "data", 0700) < 0 || mkdirat(o.dfd, "reports", 0700) < 0 ||
                       mkdirat(o.dfd, "config", 0700) < 0))
                r = -errno;
        for (size_t i = 0; r >= 0 && store_export_tables[i]; i++)
                r = export_table(&o, store, store_export_tables[i]);
        ctx = (ReportContext) {
                .config = config,
                .cal = cal,
                .lang = lang >= 0 ? (Language) lang : config->notify.language,
                .now = wallclock_now(),
        };
        if (r >= 0)
                r = export_reports(&o, &ctx, store);
        if (r >= 0)
                r = export_config(&o, config->path);
        if (o.sums && fclose(o.sums) != 0 && r >= 0)
                r = -ENOMEM;
        o.sums = NULL;
        if (r >= 0)
                r = out_file(&o, "SHA256SUMS", o.sums_buf, o.sums_size);
        free(o.sums_buf);
        if (r >= 0 && fsync(o.dfd) < 0)
                r = -errno;
        close(o.dfd);
        if (r < 0) {
                fprintf(stderr, "The hand-over in %s is incomplete: %s\n", dir, strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        printf("Wrote %zu files to %s (SHA256SUMS lists them; check with sha256sum -c).\n"
               "Hand it over, then erase the personal data: fieldwatchctl purge --confirm\n",
               o.n_files, dir);
        return CTL_EXIT_OK;
}

/* ======================================================================== */
/* Purge */

/* Whether the daemon answers on its control socket: 1 yes, 0 no, < 0 unknown. */
static int daemon_running(const char *runtime_dir) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r;

        if ((size_t) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/" CONTROL_SOCKET,
                              runtime_dir) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        r = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ? -errno : 1;
        close(fd);
        if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTDIR)
                return 0;
        return r;
}

/* The names of the credential files; -ENOTEMPTY (named on stderr) when the
 * directory holds anything but files and symbolic links. ENOENT: none. */
typedef struct Names {
        char **v;
        size_t n, allocated;
} Names;

static void names_done(Names *n) {
        for (size_t i = 0; i < n->n; i++)
                free(n->v[i]);
        free(n->v);
        *n = (Names) {};
}

static int scan_credentials(const char *dir, Names *ret) {
        struct dirent *de;
        DIR *d = opendir(dir);
        int r = 0;

        if (!d)
                return -errno;
        while (r >= 0 && (de = readdir(d))) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
                        fprintf(stderr, "%s/%s is neither a file nor a symbolic link: nothing "
                                "was erased; move it away first.\n", dir, de->d_name);
                        r = -ENOTEMPTY;
                        break;
                }
                if (array_grow((void **) &ret->v, &ret->allocated, ret->n, sizeof(char *)) < 0 ||
                    !(ret->v[ret->n] = strdup(de->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                ret->n++;
        }
        closedir(d);
        return r;
}

/* Overwrites a file with random bytes, syncs it and unlinks it; a symbolic
 * link is only unlinked (its target is not ours). */
static int erase_file(int dfd, const char *name) {
        unsigned char buf[4096];
        struct stat st;
        off_t left;
        int fd, r = 0;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                for (left = st.st_size; r == 0 && left > 0;) {
                        size_t n = (size_t) MIN(left, (off_t) sizeof(buf));

                        if (getrandom(buf, n, 0) != (ssize_t) n)
                                r = -EIO;
                        else
                                r = loop_write(fd, buf, n);
                        left -= (off_t) n;
                }
                if (r == 0 && fsync(fd) < 0)
                        r = -errno;
                close(fd);
                if (r < 0)
                        return r;
        }
        return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
}

static char *os_user_name(void) {
        const struct passwd *pw = getpwuid(getuid());
        char *s;

        if (asprintf(&s, "%s (uid %u)", pw ? pw->pw_name : "?", (unsigned) getuid()) < 0)
                return NULL;
        return s;
}

/* The disposal report's lines: what was erased (in the order of the
 * counts) and how. */
static const struct {
        const char *ja, *en;
} disposal_items[] = {
        { "送信済み・未送信のメール（本文、件名、宛先）", "Mails (bodies, subjects, recipients)" },
        { "障害記録の氏名・メモ・連絡元・記述", "Faults: names, notes, callers, descriptions" },
        { "操作記録（イベント）の氏名と本文", "Operator events: names and text" },
        { "作業記録の作業者・件名・内容・備考", "Work records: person, title, content, notes" },
        { "異常調査記録の調査者・メモ", "Investigations: person and notes" },
        { "認証情報ファイル（機器のパスワード等）", "Credential files (device passwords, ...)" },
}, disposal_methods[] = {
        { "SQLite の PRAGMA secure_delete = ON で削除・上書き（解放領域をゼロで上書き）",
          "SQLite PRAGMA secure_delete = ON (freed content overwritten with zeros)" },
        { "VACUUM でデータベースファイルを再構築し、WAL を wal_checkpoint(TRUNCATE) で空に",
          "VACUUM rebuilt the database file; wal_checkpoint(TRUNCATE) emptied the WAL" },
        { "認証情報ファイルを乱数で上書きし fsync の後に削除、ディレクトリも削除",
          "Credential files overwritten with random bytes, fsync'd, unlinked; the directory "
          "removed" },
};

static const char *what_count(json_t *what, const char *key, char buf[static 32]) {
        (void) snprintf(buf, 32, "%" JSON_INTEGER_FORMAT,
                        json_integer_value(json_object_get(what, key)));
        return buf;
}

int ctl_disposal_report(const Config *config, const Calendar *cal, Language lang,
                        int format, const Disposal *rec, char **ret) {
        static const char *const keys[] = {
                "outbox_mails_deleted", "faults_cleared", "events_cleared",
                "work_records_cleared", "investigations_cleared", "credential_files_erased",
        };
        char counts[ELEMENTSOF(keys)][32];
        const char *items[2 * ELEMENTSOF(disposal_items)];
        const char *methods[ELEMENTSOF(disposal_methods)];
        bool ja = lang == LANGUAGE_JA;
        json_t *what = json_loads(rec->what ?: "{}", 0, NULL);
        int r;

        if (!json_is_object(what)) {
                json_decref(what);
                return -EBADMSG;
        }
        for (size_t i = 0; i < ELEMENTSOF(disposal_items); i++) {
                items[2 * i] = ja ? disposal_items[i].ja : disposal_items[i].en;
                items[2 * i + 1] = what_count(what, keys[i], counts[i]);
        }
        if (!json_is_true(json_object_get(what, "credentials_directory_present")))
                (void) snprintf(counts[ELEMENTSOF(keys) - 1], 32,
                                ja ? "0（ディレクトリなし）" : "0 (no directory)");
        for (size_t i = 0; i < ELEMENTSOF(disposal_methods); i++)
                methods[i] = ja ? disposal_methods[i].ja : disposal_methods[i].en;
        {
                ReportDisposal d = {
                        .id = rec->id,
                        .at = rec->at,
                        .by = rec->by ?: "",
                        .os_user = rec->os_user ?: "",
                        .state_dir = json_string_value(json_object_get(what, "state_directory"))
                                             ?: "",
                        .credentials_dir = json_string_value(json_object_get(
                                                   what, "credentials_directory"))
                                                   ?: "",
                        .items = items,
                        .n_items = ELEMENTSOF(items) / 2,
                        .methods = methods,
                        .n_methods = ELEMENTSOF(methods),
                };
                ReportContext ctx = {
                        .config = config,
                        .cal = cal,
                        .lang = lang,
                        .format = format,
                        .now = wallclock_now(),
                };

                r = report_disposal(&ctx, &d, ret);
        }
        json_decref(what);
        return r;
}

int ctl_purge(const GlobalOptions *g, int argc, char **argv) {
        static const struct option options[] = {
                { "confirm", no_argument, NULL, 'c' },
                { "by", required_argument, NULL, 'b' },
                { "format", required_argument, NULL, 'f' },
                { "lang", required_argument, NULL, 'l' },
                { "output", required_argument, NULL, 'o' },
                {},
        };
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(calendar_freep) Calendar *cal = NULL;
        _cleanup_(store_closep) Store *store = NULL;
        _cleanup_(freep) char *os_user = NULL, *what = NULL, *text = NULL;
        const char *by = NULL, *output = NULL, *cred_dir = g->credentials_dir;
        ReportFormat format = REPORT_FORMAT_MD;
        bool confirm = false, cred_present = true, dir_removed = false, cred_failed = false;
        int lang = -1, c, r;
        int64_t open_ids[10];
        size_t n_open = 0, erased = 0;
        Names creds = {};
        StorePurge p = {};
        Disposal rec = {};
        char err_dir[256] = "";

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        confirm = true;
                        break;
                case 'b':
                        if (!optarg[0])
                                return ctl_usage_error(argv[0], "--by needs a name");
                        by = optarg;
                        break;
                case 'f':
                        if (!streq(optarg, "md") && !streq(optarg, "html"))
                                return ctl_usage_error(argv[0], "invalid --format '%s': "
                                                       "expected md or html", optarg);
                        format = streq(optarg, "md") ? REPORT_FORMAT_MD : REPORT_FORMAT_HTML;
                        break;
                case 'l':
                        if (!streq(optarg, "ja") && !streq(optarg, "en"))
                                return ctl_usage_error(argv[0], "invalid --lang '%s': "
                                                       "expected ja or en", optarg);
                        lang = streq(optarg, "ja") ? LANGUAGE_JA : LANGUAGE_EN;
                        break;
                case 'o':
                        output = optarg;
                        break;
                default:
                        return ctl_usage_error(argv[0], "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                }
        }
        if (optind < argc)
                return ctl_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
        if (!confirm)
                return ctl_usage_error(argv[0],
                                       "purge erases the names, notes and mails in the state "
                                       "database and every file of the credentials directory "
                                       "%s for good; nothing was erased. Run fieldwatchctl "
                                       "handover first, then purge --confirm.",
                                       cred_dir);

        r = daemon_running(g->runtime_dir);
        if (r != 0) {
                if (r > 0)
                        fprintf(stderr, "fieldwatchd is running (its control socket %s/"
                                CONTROL_SOCKET " answers): stop it first (systemctl stop "
                                "fieldwatch); nothing was erased.\n", g->runtime_dir);
                else
                        fprintf(stderr, "Cannot tell whether fieldwatchd is running (control "
                                "socket %s/" CONTROL_SOCKET ": %s); nothing was erased.\n",
                                g->runtime_dir, strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        if (cli_setup(g, false, &config, &cal) < 0)
                return CTL_EXIT_FAILURE;

        /* Every check before any change. */
        if (ctl_open_store(g, &store) < 0)
                return CTL_EXIT_FAILURE;
        r = store_open_fault_ids(store, open_ids, ELEMENTSOF(open_ids), &n_open);
        if (r < 0) {
                fprintf(stderr, "Cannot read the faults: %s\n", store_error(store));
                return CTL_EXIT_FAILURE;
        }
        if (n_open > 0) {
                fprintf(stderr, "%zu fault%s still open (", n_open, n_open == 1 ? " is" : "s are");
                for (size_t i = 0; i < MIN(n_open, ELEMENTSOF(open_ids)); i++)
                        fprintf(stderr, "%s%" PRId64, i ? ", " : "", open_ids[i]);
                fprintf(stderr, "%s): recover or close %s first; nothing was erased.\n",
                        n_open > ELEMENTSOF(open_ids) ? ", ..." : "",
                        n_open == 1 ? "it" : "them");
                return CTL_EXIT_FAILURE;
        }
        store = store_close(store);
        r = scan_credentials(cred_dir, &creds);
        if (r == -ENOENT)
                cred_present = false;
        else if (r < 0) {
                if (r != -ENOTEMPTY)
                        fprintf(stderr, "Cannot read the credentials directory %s: %s; "
                                "nothing was erased.\n", cred_dir, strerror(-r));
                names_done(&creds);
                return CTL_EXIT_FAILURE;
        }
        os_user = os_user_name();
        if (!os_user) {
                names_done(&creds);
                return CTL_EXIT_FAILURE;
        }

        /* The database: outbox first, then names and notes; VACUUM. */
        r = store_open(g->state_dir, &store);
        if (r >= 0)
                r = store_purge_personal(store, &p);
        if (r < 0) {
                fprintf(stderr, "Cannot erase the personal data in %s/" STORE_FILE ": %s; "
                        "nothing of it was erased.\n", g->state_dir,
                        store ? store_error(store) : strerror(-r));
                names_done(&creds);
                return CTL_EXIT_FAILURE;
        }

        /* The credentials: each file overwritten and unlinked, then the directory. */
        if (cred_present) {
                int dfd = open(cred_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                r = dfd < 0 ? -errno : 0;
                for (size_t i = 0; r >= 0 && i < creds.n; i++) {
                        r = erase_file(dfd, creds.v[i]);
                        if (r < 0)
                                fprintf(stderr, "Cannot erase %s/%s: %s\n", cred_dir,
                                        creds.v[i], strerror(-r));
                        else
                                erased++;
                }
                if (dfd >= 0) {
                        (void) fsync(dfd);
                        close(dfd);
                } else
                        fprintf(stderr, "Cannot open %s: %s\n", cred_dir, strerror(-r));
                cred_failed = r < 0;
                if (r >= 0 && rmdir(cred_dir) == 0)
                        dir_removed = true;
                else if (r >= 0)
                        (void) snprintf(err_dir, sizeof(err_dir), "%s", strerror(errno));
        }

        /* The record: what, when, by whom, how. */
        {
                json_t *w = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:s, s:s}",
                                      "outbox_mails_deleted", (json_int_t) p.outbox,
                                      "faults_cleared", (json_int_t) p.faults,
                                      "events_cleared", (json_int_t) p.events,
                                      "work_records_cleared", (json_int_t) p.work,
                                      "investigations_cleared", (json_int_t) p.investigations,
                                      "credential_files_erased", (json_int_t) erased,
                                      "credentials_directory_present", cred_present,
                                      "credentials_directory_removed", dir_removed,
                                      "credentials_directory", cred_dir,
                                      "state_directory", g->state_dir);

                what = w ? json_dumps(w, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
                json_decref(w);
        }
        rec = (Disposal) {
                .at = wallclock_now(),
                .by = (char *) (by ?: os_user),
                .os_user = os_user,
                .what = what,
                .how = (char *) "SQLite: PRAGMA secure_delete = ON, the rows' personal columns "
                                "emptied and the outbox deleted in one transaction, VACUUM, "
                                "PRAGMA wal_checkpoint(TRUNCATE); credential files overwritten "
                                "with random bytes, fsync'd and unlinked, the directory removed",
        };
        if (store_disposal_add(store, &rec) < 0) {
                fprintf(stderr, "The personal data was erased, but the disposal record could "
                        "not be written: %s\n", store_error(store));
                names_done(&creds);
                return CTL_EXIT_FAILURE;
        }
        names_done(&creds);

        /* The report (別記2 第12条), from the record as stored. */
        r = ctl_disposal_report(config, cal, lang >= 0 ? (Language) lang : config->notify.language,
                                format, &rec, &text);
        if (r < 0) {
                fprintf(stderr, "Cannot make the disposal report: %s\n", strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        if (output && !streq(output, "-")) {
                int fd = open(output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

                r = fd < 0 ? -errno : loop_write(fd, text, strlen(text));
                if (fd >= 0 && (fsync(fd) < 0 || close(fd) < 0) && r == 0)
                        r = -errno;
                if (r < 0) {
                        fprintf(stderr, "The data was erased (disposal record %" PRId64 "), but "
                                "%s could not be written: %s\n", rec.id, output, strerror(-r));
                        fputs(text, stdout);
                        return CTL_EXIT_FAILURE;
                }
        } else
                fputs(text, stdout);
        if (err_dir[0])
                fprintf(stderr, "The credential files were erased, but the directory %s "
                        "remains: %s\n", cred_dir, err_dir);
        if (cred_failed) {
                fprintf(stderr, "Not every credential file could be erased (see above; the "
                        "disposal record %" PRId64 " says how many were): erase the rest by "
                        "hand.\n", rec.id);
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}
