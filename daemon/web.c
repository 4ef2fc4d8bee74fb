/* SPDX-License-Identifier: MIT */

/* The web view (web.h): routes on an Httpd of its own, pages rendered here
 * from the same JSON the API serves (views.h), escaped with libxml2. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libxml/entities.h>
#include <libxml/xmlmemory.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "credentials.h"
#include "httpd.h"
#include "log.h"
#include "macro.h"
#include "store.h"
#include "timeutil.h"
#include "views.h"
#include "web.h"

#define TICK (1 * USEC_PER_SEC)
#define CHANGE_DELAY (400 * USEC_PER_MSEC) /* after a change: the rows are flushed by then */
/* Ticks between SSE keep-alives: a connection waiting for data is not
 * watched by the server, so a client that left is found by writing to it. */
#define PING_EVERY 5
#define PEM_MAX (1024 * 1024)
#define PAGE_EVENTS 50U
#define PAGE_DEADLINE_DAYS 30
#define STRIP_DAYS 30

typedef struct SseClient SseClient;

struct SseClient {
        Web *web;
        HttpdStream *stream;
        SseClient *prev, *next;
};

struct Web {
        sd_event *event;
        Httpd *httpd;
        char *state_dir;
        Store *store;                /* read-only, opened at the first use */
        Monitor *monitor;
        const Config *config;
        const Calendar *calendar;
        sd_event_source *tick, *change;
        uint64_t generation;
        unsigned ticks;
        SseClient *clients;
        size_t n_clients;
        char *tls_cert, *tls_key;
};

/* ======================================================================== */
/* Helpers */

static int read_pem(const char *path, bool secret, char **ret) {
        struct stat st;
        char *buf;
        ssize_t n;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_errno(LOG_ERR, -errno, "http: cannot open %s", path);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
            st.st_size > PEM_MAX) {
                (void) close(fd);
                log_error("http: %s is not a regular file of 1 byte to 1 MiB.", path);
                return -EINVAL;
        }
        if (secret && (st.st_mode & 0077)) {
                (void) close(fd);
                log_error("http: %s (tls_key) is readable by others (mode %04o): make it 0600.",
                          path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        buf = calloc(1, (size_t) st.st_size + 1);
        if (!buf) {
                (void) close(fd);
                return -ENOMEM;
        }
        n = read(fd, buf, (size_t) st.st_size);
        r = n < 0 ? -errno : 0;
        (void) close(fd);
        if (n != st.st_size) {
                free(buf);
                return log_errno(LOG_ERR, r ?: -EIO, "http: cannot read %s", path);
        }
        *ret = buf;
        return 0;
}

static void esc(FILE *f, const char *s) {
        xmlChar *e;

        if (!s)
                return;
        e = xmlEncodeSpecialChars(NULL, (const xmlChar *) s);
        if (e) {
                fputs((const char *) e, f);
                xmlFree(e);
        }
}

static const char *jstr(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static time_t jtime(const json_t *o, const char *key) {
        const char *s = jstr(o, key);
        time_t t;

        return s && parse_iso_datetime(s, &t) >= 0 ? t : 0;
}

static int web_store(Web *w, Store **ret) {
        int r;

        if (!w->store) {
                r = store_open_readonly(w->state_dir, &w->store);
                if (r < 0)
                        return r;
                /* On the loop: a lock that is not free now is a 503, never a wait. */
                store_set_busy_timeout(w->store, 0);
        }
        *ret = w->store;
        return 0;
}

/* "YYYY-MM-DD HH:MM" of an ISO time, for people. */
static void short_time(FILE *f, const char *iso) {
        if (!iso) {
                fputs("-", f);
                return;
        }
        fprintf(f, "%.10s %.5s", iso, strlen(iso) > 11 ? iso + 11 : "");
}

/* The clock's text: "残り 1時間2分" / "1h 2m left", or overdue. */
static void clock_text(FILE *f, bool en, int64_t left) {
        int64_t a = left < 0 ? -left : left;
        int64_t d = a / 86400, h = a % 86400 / 3600, m = a % 3600 / 60, s = a % 60;

        if (en) {
                if (d)
                        fprintf(f, "%" PRId64 "d ", d);
                if (d || h)
                        fprintf(f, "%" PRId64 "h ", h);
                fprintf(f, "%" PRId64 "m %02" PRId64 "s %s", m, s, left < 0 ? "overdue" : "left");
        } else {
                fputs(left < 0 ? "超過 " : "残り ", f);
                if (d)
                        fprintf(f, "%" PRId64 "日", d);
                if (d || h)
                        fprintf(f, "%" PRId64 "時間", h);
                fprintf(f, "%" PRId64 "分%02" PRId64 "秒", m, s);
        }
}

static const char *T(bool en, const char *ja, const char *english) {
        return en ? english : ja;
}

static const char *state_text(bool en, const char *state) {
        static const struct {
                const char *state, *ja;
        } table[] = {
                { "up", "正常" },           { "degraded", "注意" }, { "down", "停止" },
                { "unreachable", "到達不能" }, { "unknown", "不明" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq_ptr(state, table[i].state))
                        return en ? table[i].state : table[i].ja;
        return en ? "unknown" : "不明";
}

/* CSS class of a state: ok, warn, bad, unk. */
static const char *mount_text(bool en, Mount m) {
        switch (m) {
        case MOUNT_STAINLESS_BAND:
                return en ? "stainless band" : "ステンレスバンド";
        case MOUNT_SPEAR_ARM:
                return en ? "spear arm" : "スピアアーム";
        case MOUNT_WALL:
                return en ? "wall" : "壁面";
        }
        return mount_to_string(m);
}

static const char *state_class(const char *state) {
        if (streq_ptr(state, "up"))
                return "ok";
        if (streq_ptr(state, "degraded"))
                return "warn";
        if (streq_ptr(state, "down") || streq_ptr(state, "unreachable"))
                return "bad";
        return "unk";
}

static const char *tunnel_state(const char *t) {
        return streq_ptr(t, "up") ? "up" : streq_ptr(t, "down") ? "down" : "unknown";
}

static int class_rank(const char *c) {
        return streq(c, "bad") ? 3 : streq(c, "warn") ? 2 : streq(c, "unk") ? 1 : 0;
}

static json_t *find_device(json_t *status, const char *id) {
        size_t i;
        json_t *d;

        json_array_foreach(status, i, d)
                if (streq_ptr(jstr(d, "device"), id))
                        return d;
        return NULL;
}

/* ======================================================================== */
/* The page */

static const char css[] =
        "body{font-family:sans-serif;margin:0.5rem;color:#111;background:#fff}"
        "h1{font-size:1.3rem;margin:0.2rem 0}h2{font-size:1.1rem;margin:1rem 0 0.3rem}"
        ".tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));"
        "gap:0.35rem}"
        ".tile{border:2px solid #888;border-radius:4px;padding:0.25rem 0.4rem;font-size:0.85rem;"
        "text-decoration:none;color:#111;display:block}"
        ".tile b{font-size:1rem}.tile .st{display:block}"
        ".ok{background:#d9f2d9;border-color:#2a7a2a}.warn{background:#fff0c2;border-color:#a67c00}"
        ".bad{background:#f9d0d0;border-color:#b00020}.unk{background:#e6e6e6;border-color:#777}"
        "table{border-collapse:collapse;width:100%;font-size:0.85rem}"
        "th,td{border:1px solid #bbb;padding:0.15rem 0.3rem;text-align:left;vertical-align:top}"
        "th{background:#eee}.clock{font-weight:bold;white-space:nowrap}"
        ".scroll{overflow-x:auto;max-width:100%}td{overflow-wrap:break-word}"
        ".breach{color:#b00020}.warning{color:#8a5a00}.muted{color:#555}"
        "svg{max-width:100%}"
        "@media (max-width:600px){.tiles{grid-template-columns:repeat(2,1fr)}"
        "td,th{font-size:0.8rem}}"
        "@media print{@page{size:A4;margin:10mm}body{margin:0;font-size:9pt}"
        ".scroll{overflow:visible}"
        ".tiles{grid-template-columns:repeat(6,1fr)}.tile{break-inside:avoid}"
        "nav{display:none}tr{break-inside:avoid}}";

static void page_head(FILE *f, bool en, const char *title, time_t now) {
        fprintf(f, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                   "<noscript><meta http-equiv=\"refresh\" content=\"30\"></noscript><title>",
                en ? "en" : "ja");
        esc(f, title);
        fprintf(f, "</title><style>%s</style>"
                   "<script src=\"/live.js\" defer></script></head>\n"
                   "<body data-now=\"%lld\" data-lang=\"%s\">",
                css, (long long) now, en ? "en" : "ja");
}

static void page_nav(FILE *f, bool en, const char *here) {
        fputs("<nav class=\"muted\"><a href=\"/", f);
        fputs(en ? "?lang=en\">" : "\">", f);
        fputs(T(en, "一覧", "Overview"), f);
        fputs("</a> · <a href=\"", f);
        esc(f, here);
        fputs(en ? "\">日本語</a>" : "?lang=en\">English</a>", f);
        fputs("</nav>", f);
}

/* Who approved a fault's deferral, from its event (the last 1000 events). */
typedef struct Approver {
        int64_t fault;
        char by[128];
} Approver;

static int find_approver(const EventRow *e, void *userdata) {
        Approver *a = userdata;

        if (e->fault_id == a->fault && streq(e->type, "deferral_approved"))
                (void) snprintf(a->by, sizeof(a->by), "%s", e->by);
        return 0;
}

static void fault_clock(Web *w, FILE *f, bool en, const json_t *ft, time_t now) {
        time_t due = jtime(ft, "due");
        int64_t left = (int64_t) (due - now);
        uint64_t warn = w->config ? w->config->sla.warn_before / USEC_PER_SEC : 1800;
        Store *s;

        if (jstr(ft, "onsite_started_at")) {
                fputs(T(en, "現地着手 ", "onsite since "), f);
                short_time(f, jstr(ft, "onsite_started_at"));
                return;
        }
        if (!due) {
                fputs(streq_ptr(jstr(ft, "sla_rule"), "sendback")
                              ? T(en, "センドバック（現地対応なし）", "send-back (no onsite)")
                              : T(en, "受付待ち", "awaiting the call"),
                      f);
                return;
        }
        fprintf(f, "<span class=\"clock %s\" data-due=\"%lld\">",
                left < 0 ? "breach" : left <= (int64_t) warn ? "warning" : "", (long long) due);
        clock_text(f, en, left);
        fputs("</span><br>", f);
        fputs(left < 0 ? T(en, "【期限超過】", "[BREACH] ")
              : left <= (int64_t) warn ? T(en, "【期限間近】", "[WARNING] ") : "",
              f);
        fputs(T(en, "期限 ", "due "), f);
        short_time(f, jstr(ft, "due"));
        if (jstr(ft, "deferral_approved_at")) {
                Approver a = { .fault = json_integer_value(json_object_get(ft, "id")) };

                if (web_store(w, &s) >= 0)
                        (void) store_foreach_event(s, 0, VIEWS_EVENTS_MAX, find_approver, &a);
                fputs(T(en, "（翌朝対応 承認: ", " (deferred, approved by "), f);
                esc(f, a.by[0] ? a.by : "?");
                fputs(T(en, "）", ")"), f);
        }
}

static void faults_table(Web *w, FILE *f, bool en, json_t *faults, time_t now, bool open_only) {
        size_t i, n = 0;
        json_t *ft;

        json_array_foreach(faults, i, ft)
                n += !open_only || streq_ptr(jstr(ft, "state"), "open");
        if (n == 0) {
                fprintf(f, "<p id=\"no-faults\">%s</p>", T(en, "障害はありません。", "No faults."));
                return;
        }
        fprintf(f, "<div class=\"scroll\"><table id=\"faults\"><tr><th>%s</th><th>%s</th>"
                   "<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>",
                T(en, "番号", "ID"), T(en, "機器", "Device"), T(en, "内容", "What happened"),
                T(en, "発生", "Since"), T(en, "契約時計", "Contract clock"),
                T(en, "確認", "Acknowledged"));
        /* Newest first. */
        for (size_t k = json_array_size(faults); k > 0; k--) {
                ft = json_array_get(faults, k - 1);
                if (open_only && !streq_ptr(jstr(ft, "state"), "open"))
                        continue;
                fprintf(f, "<tr class=\"fault\" data-device=\"");
                esc(f, jstr(ft, "device"));
                fprintf(f, "\"><td>%" JSON_INTEGER_FORMAT "</td><td>",
                        json_integer_value(json_object_get(ft, "id")));
                esc(f, jstr(ft, "device"));
                fputs("</td><td>", f);
                esc(f, jstr(ft, "kind"));
                fputs(": ", f);
                esc(f, jstr(ft, "reason"));
                if (!open_only) {
                        fputs(" <b>", f);
                        esc(f, jstr(ft, "state"));
                        fputs("</b>", f);
                }
                fputs("</td><td>", f);
                short_time(f, jstr(ft, "detected_at"));
                fputs("</td><td>", f);
                if (streq_ptr(jstr(ft, "state"), "open"))
                        fault_clock(w, f, en, ft, now);
                else {
                        fputs(T(en, "復旧 ", "cleared "), f);
                        short_time(f, jstr(ft, "cleared_at"));
                }
                fputs("</td><td>", f);
                if (jstr(ft, "acknowledged_by")) {
                        esc(f, jstr(ft, "acknowledged_by"));
                        fputs(" ", f);
                        short_time(f, jstr(ft, "acknowledged_at"));
                } else
                        fputs(T(en, "未確認", "not yet"), f);
                fputs("</td></tr>", f);
        }
        fputs("</table></div>", f);
}

static void tile(FILE *f, bool en, const SiteConf *site, json_t *status, json_t *faults) {
        char id[64];
        json_t *router, *camera, *ft;
        const char *rs, *cs, *ts, *worst;
        bool open = false;
        size_t i;

        (void) snprintf(id, sizeof(id), "%s-router", site->id);
        router = find_device(status, id);
        (void) snprintf(id, sizeof(id), "%s-camera", site->id);
        camera = find_device(status, id);
        rs = router ? jstr(router, "state") : "unknown";
        cs = camera ? jstr(camera, "state") : "unknown";
        ts = tunnel_state(router ? jstr(json_object_get(router, "values"), "tunnel") : NULL);
        json_array_foreach(faults, i, ft)
                if (streq_ptr(jstr(ft, "site"), site->id) && streq_ptr(jstr(ft, "state"), "open"))
                        open = true;
        worst = state_class(rs);
        if (class_rank(state_class(cs)) > class_rank(worst))
                worst = state_class(cs);
        if (streq(ts, "down") && class_rank("bad") > class_rank(worst))
                worst = "bad";
        fprintf(f, "<a class=\"tile %s\" id=\"site-", worst);
        esc(f, site->id);
        fprintf(f, "\" data-state=\"%s\" href=\"/site/", worst);
        esc(f, site->id);
        fputs(en ? "?lang=en\"><b>" : "\"><b>", f);
        esc(f, site->id);
        fputs("</b> ", f);
        esc(f, site->name);
        fputs(" <span class=\"muted\">", f);
        esc(f, mount_text(en, site->mount));
        fprintf(f, "</span><span class=\"st\">%s: %s</span>", T(en, "ルータ", "Router"),
                state_text(en, rs));
        fprintf(f, "<span class=\"st\">%s: %s</span>", T(en, "トンネル", "Tunnel"),
                state_text(en, ts));
        fprintf(f, "<span class=\"st cam\">%s: %s</span>", T(en, "カメラ", "Camera"),
                state_text(en, cs));
        if (open)
                fprintf(f, "<span class=\"st\"><b>%s</b></span>", T(en, "▲ 障害あり", "▲ open fault"));
        fputs("</a>", f);
}

static void deadlines_table(FILE *f, bool en, json_t *deadlines) {
        size_t i;
        json_t *d;

        if (json_array_size(deadlines) == 0) {
                fprintf(f, "<p>%s</p>", T(en, "期限はありません。", "No deadlines."));
                return;
        }
        fprintf(f, "<div class=\"scroll\"><table id=\"deadlines\"><tr><th>%s</th><th>%s</th>"
                   "<th>%s</th><th>%s</th></tr>",
                T(en, "期限", "Due"), T(en, "提出期限", "Deliver by"), T(en, "件名", "What"),
                T(en, "残り", "Left"));
        json_array_foreach(deadlines, i, d) {
                int64_t left = json_integer_value(json_object_get(d, "remaining_seconds"));

                fputs("<tr><td>", f);
                esc(f, jstr(d, "due"));
                fputs("</td><td>", f);
                esc(f, jstr(d, "deliver_by"));
                fputs("</td><td>", f);
                esc(f, jstr(d, "title"));
                fprintf(f, "</td><td class=\"%s\">", left < 0 ? "breach" : "");
                clock_text(f, en, left);
                fputs("</td></tr>", f);
        }
        fputs("</table></div>", f);
}

static void events_table(FILE *f, bool en, json_t *events) {
        fprintf(f, "<div class=\"scroll\"><table id=\"events\"><tr><th>%s</th><th>%s</th>"
                   "<th>%s</th><th>%s</th></tr>",
                T(en, "日時", "When"), T(en, "種別", "Type"), T(en, "機器", "Device"),
                T(en, "内容", "Text"));
        for (size_t k = json_array_size(events); k > 0; k--) {
                json_t *e = json_array_get(events, k - 1);

                fputs("<tr><td>", f);
                short_time(f, jstr(e, "at"));
                fputs("</td><td>", f);
                esc(f, jstr(e, "type"));
                fputs("</td><td>", f);
                esc(f, jstr(e, "device") ?: "");
                fputs("</td><td>", f);
                esc(f, jstr(e, "text"));
                if (jstr(e, "by")) {
                        fputs(" (", f);
                        esc(f, jstr(e, "by"));
                        fputs(")", f);
                }
                fputs("</td></tr>", f);
        }
        fputs("</table></div>", f);
}

typedef struct PageData {
        json_t *status, *faults, *deadlines, *events;
} PageData;

static void page_data_done(PageData *p) {
        json_decref(p->status);
        json_decref(p->faults);
        json_decref(p->deadlines);
        json_decref(p->events);
}

static bool lang_en(HttpdRequest *q) {
        return streq_ptr(httpd_request_query(q, "lang"), "en");
}

/* Closes f (an open_memstream() over *buf and *size) and answers with it. */
static int reply_memstream(HttpdRequest *q, const char *type, FILE *f, char **buf,
                           size_t *size) {
        int r;

        if (fclose(f) != 0) {
                free(*buf);
                return -ENOMEM;
        }
        (void) httpd_reply_header(q, "Cache-Control", "no-store");
        (void) httpd_reply_header(q, "X-Content-Type-Options", "nosniff");
        if (strncmp(type, "text/html", 9) == 0)
                /* Our own script and the page's style only; never in a frame. */
                (void) httpd_reply_header(q, "Content-Security-Policy",
                                          "default-src 'none'; script-src 'self'; "
                                          "connect-src 'self'; style-src 'unsafe-inline'; "
                                          "img-src 'self'; frame-ancestors 'none'");
        r = httpd_reply(q, 200, type, *buf, *size);
        free(*buf);
        return r;
}

static int not_ready(HttpdRequest *q, int r) {
        return httpd_reply_error(q, 503, "the state cannot be read now: %s", strerror(-r));
}

static int on_page(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        bool en = lang_en(q);
        time_t now = wallclock_now();
        PageData p = {};
        Store *s;
        char *buf = NULL;
        size_t size = 0;
        Day today;
        int sec, r;
        FILE *f;

        if (!w->config || !w->calendar)
                return httpd_reply_error(q, 503, "fieldwatchd is starting");
        r = web_store(w, &s);
        if (r >= 0)
                r = views_status(s, &p.status);
        if (r >= 0)
                r = views_faults(s, true, &p.faults);
        if (r >= 0)
                r = local_from_instant(now, &today, &sec);
        if (r >= 0)
                r = views_deadlines(w->config, w->calendar, s, today, today + PAGE_DEADLINE_DAYS,
                                    now, &p.deadlines);
        if (r >= 0)
                r = views_events(s, 0, PAGE_EVENTS, &p.events);
        if (r < 0) {
                page_data_done(&p);
                return not_ready(q, r);
        }
        f = open_memstream(&buf, &size);
        if (!f) {
                page_data_done(&p);
                return -ENOMEM;
        }
        page_head(f, en, T(en, "fieldwatch 監視状況", "fieldwatch status"), now);
        fputs("<h1>", f);
        esc(f, w->config->contract.title ?: "fieldwatch");
        fputs("</h1>", f);
        page_nav(f, en, "/");
        fputs("<main id=\"live\">", f);
        fprintf(f, "<p class=\"muted\">%s ", T(en, "更新", "As of"));
        {
                char at[ISO_DATETIME_MAX];

                esc(f, format_iso_datetime(now, at));
        }
        fputs("</p>", f);
        fprintf(f, "<h2>%s</h2>", T(en, "発生中の障害", "Open faults"));
        faults_table(w, f, en, p.faults, now, true);
        {
                json_t *vpn = find_device(p.status, "vpn");
                const char *vs = vpn ? jstr(vpn, "state") : "unknown";

                fprintf(f, "<h2>%s</h2>", T(en, "拠点", "Sites"));
                if (w->config->has_vpn) {
                        fprintf(f, "<p id=\"vpn\" class=\"tile %s\" data-state=\"%s\">",
                                state_class(vs), state_class(vs));
                        fputs(T(en, "VPNルータ ", "VPN router "), f);
                        esc(f, w->config->vpn.name ?: "");
                        fprintf(f, ": %s</p>", state_text(en, vs));
                }
                fputs("<div class=\"tiles\">", f);
        }
        for (size_t i = 0; i < w->config->n_sites; i++)
                tile(f, en, &w->config->sites[i], p.status, p.faults);
        fputs("</div>", f);
        fprintf(f, "<h2>%s</h2>", T(en, "今後30日の期限", "Deadlines of the next 30 days"));
        deadlines_table(f, en, p.deadlines);
        fprintf(f, "<h2>%s</h2>", T(en, "最近のイベント（50件）", "Last 50 events"));
        events_table(f, en, p.events);
        fputs("</main></body></html>\n", f);
        page_data_done(&p);
        return reply_memstream(q, "text/html; charset=utf-8", f, &buf, &size);
}

/* ======================================================================== */
/* One site */

typedef struct Interval {
        time_t from, to;
} Interval;

static int interval_compare(const void *a, const void *b) {
        const Interval *x = a, *y = b;

        return x->from < y->from ? -1 : x->from > y->from;
}

/* Seconds of [from, to) covered by the intervals (sorted by from). */
static int64_t covered(const Interval *v, size_t n, time_t from, time_t to) {
        int64_t sum = 0;
        time_t end = from;

        for (size_t i = 0; i < n; i++) {
                time_t a = MAX(v[i].from, end), b = MIN(v[i].to, to);

                if (b > a) {
                        sum += b - a;
                        end = b;
                }
        }
        return sum;
}

/* The availability strip: one bar per day, the share of the day without a
 * fault of the site. */
static void availability_svg(FILE *f, bool en, const char *site, json_t *faults, time_t now) {
        Interval *v = calloc(json_array_size(faults) + 1, sizeof(Interval));
        size_t n = 0, i;
        json_t *ft;
        Day today;
        int sec;

        if (!v || local_from_instant(now, &today, &sec) < 0) {
                free(v);
                return;
        }
        json_array_foreach(faults, i, ft) {
                time_t from = jtime(ft, "detected_at"), to = jtime(ft, "cleared_at");

                if (!streq_ptr(jstr(ft, "site"), site) || !from)
                        continue;
                v[n++] = (Interval) { from, to && to < now ? to : now };
        }
        qsort(v, n, sizeof(Interval), interval_compare);
        fprintf(f, "<svg id=\"availability\" role=\"img\" width=\"%d\" height=\"48\" "
                   "viewBox=\"0 0 %d 48\" xmlns=\"http://www.w3.org/2000/svg\"><title>%s</title>",
                STRIP_DAYS * 16, STRIP_DAYS * 16,
                T(en, "過去30日の稼働率", "Availability over the last 30 days"));
        for (int k = 0; k < STRIP_DAYS; k++) {
                Day day = today - (STRIP_DAYS - 1) + k;
                time_t a, b;
                char date[ISO_DATE_MAX];
                double pct;
                const char *fill;

                if (instant_from_local(day, 0, &a) < 0 || instant_from_local(day + 1, 0, &b) < 0)
                        continue;
                if (b > now)
                        b = now;
                pct = b > a ? 100.0 * (1.0 - (double) covered(v, n, a, b) / (double) (b - a)) : 100;
                fill = pct >= 99.95 ? "#2a7a2a" : pct >= 99 ? "#7cb342" : pct >= 90 ? "#d4a000"
                                                                                   : "#b00020";
                fprintf(f, "<rect class=\"day\" x=\"%d\" y=\"%d\" width=\"14\" height=\"%d\" "
                           "fill=\"%s\"><title>%s %.2f%%</title></rect>",
                        k * 16, 4 + (int) ((100.0 - pct) * 0.28), 32 - (int) ((100.0 - pct) * 0.28),
                        fill, format_iso_date(day, date), pct);
        }
        fputs("<line x1=\"0\" y1=\"40\" x2=\"480\" y2=\"40\" stroke=\"#888\"/>", f);
        fputs("</svg>", f);
        free(v);
}

static void device_values(FILE *f, bool en, json_t *d) {
        static const struct {
                const char *key, *ja, *en;
        } known[] = {
                { "clock_skew", "時刻ずれ(秒)", "clock skew (s)" },
                { "recording_lag", "録画遅れ(秒)", "recording lag (s)" },
                { "sd", "SD", "SD" },
                { "tunnel", "トンネル", "tunnel" },
                { "uptime", "稼働時間(秒)", "uptime (s)" },
                { "model", "機種", "model" },
                { "firmware", "ファーム", "firmware" },
        };
        json_t *values = json_object_get(d, "values"), *v;
        const char *key;

        fputs("<td>", f);
        if (json_is_number(json_object_get(d, "latency_ms")))
                fprintf(f, "%s %.1f ms<br>", T(en, "応答", "latency"),
                        json_number_value(json_object_get(d, "latency_ms")));
        json_object_foreach(values, key, v) {
                const char *label = key;

                if (json_is_object(v))
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(known); i++)
                        if (streq(key, known[i].key))
                                label = en ? known[i].en : known[i].ja;
                esc(f, label);
                fputs(": ", f);
                if (json_is_string(v))
                        esc(f, json_string_value(v));
                else if (json_is_integer(v))
                        fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                else if (json_is_real(v))
                        fprintf(f, "%.3g", json_real_value(v));
                else
                        fputs(json_is_true(v) ? "true" : json_is_false(v) ? "false" : "-", f);
                fputs("<br>", f);
        }
        fputs("</td>", f);
}

static void fault_timeline(FILE *f, bool en, json_t *ft) {
        static const struct {
                const char *key, *ja, *en;
        } steps[] = {
                { "detected_at", "検知", "detected" },
                { "received_at", "受付", "received" },
                { "acknowledged_at", "確認", "acknowledged" },
                { "deferral_approved_at", "翌朝対応承認", "deferral approved" },
                { "due", "期限", "due" },
                { "onsite_started_at", "現地着手", "onsite" },
                { "cleared_at", "復旧", "cleared" },
        };

        fputs("<ol class=\"timeline\">", f);
        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                if (!jstr(ft, steps[i].key))
                        continue;
                fprintf(f, "<li>%s ", en ? steps[i].en : steps[i].ja);
                short_time(f, jstr(ft, steps[i].key));
                fputs("</li>", f);
        }
        fputs("</ol>", f);
}

static int on_site(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        const char *id = httpd_request_path(q) + strlen("/site/");
        bool en = lang_en(q);
        time_t now = wallclock_now();
        const SiteConf *site = NULL;
        json_t *status = NULL, *faults = NULL, *d, *ft;
        char title[256], here[64], *buf = NULL;
        size_t size = 0, i;
        Store *s;
        FILE *f;
        int r;

        if (strlen(httpd_request_path(q)) <= strlen("/site/"))
                return httpd_reply_error(q, 404, "no such site");
        if (!w->config)
                return httpd_reply_error(q, 503, "fieldwatchd is starting");
        for (size_t k = 0; k < w->config->n_sites; k++)
                if (streq(w->config->sites[k].id, id))
                        site = &w->config->sites[k];
        if (!site)
                return httpd_reply_error(q, 404, "no such site");
        r = web_store(w, &s);
        if (r >= 0)
                r = views_status(s, &status);
        if (r >= 0)
                r = views_faults(s, false, &faults);
        if (r < 0) {
                json_decref(status);
                return not_ready(q, r);
        }
        f = open_memstream(&buf, &size);
        if (!f) {
                json_decref(status);
                json_decref(faults);
                return -ENOMEM;
        }
        (void) snprintf(title, sizeof(title), "%s %s", site->id, site->name);
        (void) snprintf(here, sizeof(here), "/site/%s", site->id);
        page_head(f, en, title, now);
        fputs("<h1>", f);
        esc(f, title);
        fputs(" <span class=\"muted\">", f);
        esc(f, mount_text(en, site->mount));
        fputs("</span></h1>", f);
        page_nav(f, en, here);
        fputs("<main id=\"live\">", f);
        fprintf(f, "<h2>%s</h2><div class=\"scroll\"><table id=\"devices\"><tr><th>%s</th>"
                   "<th>%s</th><th>%s</th><th>%s</th></tr>",
                T(en, "機器", "Devices"), T(en, "機器", "Device"), T(en, "状態", "State"),
                T(en, "最終確認", "Last probe"), T(en, "値", "Values"));
        json_array_foreach(status, i, d) {
                if (!streq_ptr(jstr(d, "site"), site->id))
                        continue;
                fprintf(f, "<tr class=\"%s\"><td>", state_class(jstr(d, "state")));
                esc(f, jstr(d, "device"));
                fprintf(f, "</td><td>%s", state_text(en, jstr(d, "state")));
                if (jstr(d, "reason")) {
                        fputs("<br>", f);
                        esc(f, jstr(d, "reason"));
                }
                fputs("</td><td>", f);
                short_time(f, jstr(d, "last_probe_at"));
                fputs("</td>", f);
                device_values(f, en, d);
                fputs("</tr>", f);
        }
        fputs("</table></div>", f);
        fprintf(f, "<h2>%s</h2>", T(en, "過去30日の稼働率", "Availability, last 30 days"));
        availability_svg(f, en, site->id, faults, now);
        fprintf(f, "<h2>%s</h2>", T(en, "障害", "Faults"));
        {
                json_t *mine = json_array();

                json_array_foreach(faults, i, ft)
                        if (streq_ptr(jstr(ft, "site"), site->id))
                                (void) json_array_append(mine, ft);
                faults_table(w, f, en, mine, now, false);
                fputs("<h2>", f);
                fputs(T(en, "経過", "Timelines"), f);
                fputs("</h2>", f);
                for (size_t k = json_array_size(mine); k > 0; k--) {
                        ft = json_array_get(mine, k - 1);
                        fprintf(f, "<h3>%s %" JSON_INTEGER_FORMAT " ", T(en, "障害", "Fault"),
                                json_integer_value(json_object_get(ft, "id")));
                        esc(f, jstr(ft, "device"));
                        fputs(" ", f);
                        esc(f, jstr(ft, "kind"));
                        fputs("</h3>", f);
                        fault_timeline(f, en, ft);
                }
                json_decref(mine);
        }
        fputs("</main></body></html>\n", f);
        json_decref(status);
        json_decref(faults);
        return reply_memstream(q, "text/html; charset=utf-8", f, &buf, &size);
}

/* ======================================================================== */
/* The script: live updates over SSE, and the clocks counting down. */

static const char live_js[] =
        "'use strict';\n"
        "(function () {\n"
        "  var body = document.body, en = body.dataset.lang === 'en';\n"
        "  var offset = Number(body.dataset.now) - Date.now() / 1000;\n"
        "  function pad(n) { return (n < 10 ? '0' : '') + n; }\n"
        "  function text(left) {\n"
        "    var a = Math.abs(left), d = Math.floor(a / 86400), h = Math.floor(a % 86400 / 3600),\n"
        "        m = Math.floor(a % 3600 / 60), s = Math.floor(a % 60), t = '';\n"
        "    if (en) {\n"
        "      if (d) t += d + 'd ';\n"
        "      if (d || h) t += h + 'h ';\n"
        "      return t + m + 'm ' + pad(s) + 's ' + (left < 0 ? 'overdue' : 'left');\n"
        "    }\n"
        "    if (d) t += d + '日';\n"
        "    if (d || h) t += h + '時間';\n"
        "    return (left < 0 ? '超過 ' : '残り ') + t + m + '分' + pad(s) + '秒';\n"
        "  }\n"
        "  function tick() {\n"
        "    var now = Date.now() / 1000 + offset;\n"
        "    document.querySelectorAll('[data-due]').forEach(function (e) {\n"
        "      var left = Math.round(Number(e.dataset.due) - now);\n"
        "      e.textContent = text(left);\n"
        "      if (left < 0) e.classList.add('breach');\n"
        "    });\n"
        "  }\n"
        "  function refresh() {\n"
        "    fetch(location.href, { cache: 'no-store' }).then(function (r) {\n"
        "      return r.ok ? r.text() : Promise.reject(r.status);\n"
        "    }).then(function (t) {\n"
        "      var doc = new DOMParser().parseFromString(t, 'text/html');\n"
        "      var fresh = doc.getElementById('live'), live = document.getElementById('live');\n"
        "      if (!fresh || !live) return;\n"
        "      live.innerHTML = fresh.innerHTML;\n"
        "      offset = Number(doc.body.dataset.now) - Date.now() / 1000;\n"
        "      body.dataset.updates = String(Number(body.dataset.updates || 0) + 1);\n"
        "      tick();\n"
        "    }).catch(function () {});\n"
        "  }\n"
        "  setInterval(tick, 1000);\n"
        "  if (window.EventSource) {\n"
        "    var es = new EventSource('/events');\n"
        "    es.addEventListener('change', refresh);\n"
        "    es.addEventListener('open', function () { body.dataset.live = 'yes'; });\n"
        "  }\n"
        "})();\n";

static int on_live_js(HttpdRequest *q, void *userdata) {
        (void) userdata;
        (void) httpd_reply_header(q, "Cache-Control", "no-cache");
        return httpd_reply(q, 200, "text/javascript; charset=utf-8", live_js, strlen(live_js));
}

/* ======================================================================== */
/* Server-Sent Events */

static void sse_closed(HttpdStream *s, void *userdata) {
        SseClient *c = userdata;
        Web *w = c->web;

        (void) s;
        if (c->prev)
                c->prev->next = c->next;
        else
                w->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        w->n_clients--;
        free(c);
}

static int on_sse(HttpdRequest *q, void *userdata) {
        static const char hello[] = "retry: 3000\n: fieldwatch\n\n";
        Web *w = userdata;
        SseClient *c;
        int r;

        if (w->n_clients >= WEB_SSE_CLIENTS_MAX)
                return httpd_reply_error(q, 503, "too many live clients (%u)",
                                         WEB_SSE_CLIENTS_MAX);
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->web = w;
        (void) httpd_reply_header(q, "Cache-Control", "no-cache");
        r = httpd_reply_stream(q, 200, "text/event-stream", WEB_SSE_BUFFER_MAX, sse_closed, c,
                               &c->stream);
        if (r < 0) {
                free(c);
                return r;
        }
        c->next = w->clients;
        if (c->next)
                c->next->prev = c;
        w->clients = c;
        w->n_clients++;
        (void) httpd_stream_write(c->stream, hello, strlen(hello));
        return 0;
}

static void sse_broadcast(Web *w, const char *msg) {
        for (SseClient *c = w->clients; c; c = c->next)
                /* A client too slow to take it is dropped by the server. */
                (void) httpd_stream_write(c->stream, msg, strlen(msg));
}

static int on_change(sd_event_source *s, uint64_t usec, void *userdata) {
        Web *w = userdata;
        char msg[64];

        (void) s;
        (void) usec;
        (void) snprintf(msg, sizeof(msg), "event: change\ndata: %" PRIu64 "\n\n", w->generation);
        sse_broadcast(w, msg);
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Web *w = userdata;
        uint64_t g;

        (void) sd_event_source_set_time(s, usec + TICK);
        if (!w->monitor)
                return 0;
        g = monitor_generation(w->monitor);
        if (g != w->generation) {
                w->generation = g;
                /* The rows are written within the monitor's flush delay. */
                (void) sd_event_source_set_time_relative(w->change, CHANGE_DELAY);
                (void) sd_event_source_set_enabled(w->change, SD_EVENT_ONESHOT);
        }
        if (++w->ticks % PING_EVERY == 0)
                sse_broadcast(w, ": ping\n\n");
        return 0;
}

/* ======================================================================== */
/* The API, metrics, health */

static int reply_view(HttpdRequest *q, int r, json_t *j) {
        if (r < 0)
                return not_ready(q, r);
        (void) httpd_reply_header(q, "Cache-Control", "no-store");
        return httpd_reply_json(q, 200, j);
}

static int on_api_status(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        json_t *j = NULL;
        Store *s;
        int r;

        r = web_store(w, &s);
        if (r >= 0)
                r = views_status(s, &j);
        return reply_view(q, r, j);
}

static int on_api_faults(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        const char *open = httpd_request_query(q, "open");
        json_t *j = NULL;
        Store *s;
        int r;

        if (open && !streq(open, "0") && !streq(open, "1") && !streq(open, ""))
                return httpd_reply_error(q, 400, "open: expected 0 or 1");
        r = web_store(w, &s);
        if (r >= 0)
                r = views_faults(s, open && !streq(open, "0"), &j);
        return reply_view(q, r, j);
}

static int on_api_deadlines(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        const char *from_s = httpd_request_query(q, "from"), *to_s = httpd_request_query(q, "to");
        time_t now = wallclock_now();
        json_t *j = NULL;
        Day from, to;
        Store *s;
        int sec, r;

        if (!w->config || !w->calendar)
                return httpd_reply_error(q, 503, "fieldwatchd is starting");
        if (from_s && parse_iso_date(from_s, &from) < 0)
                return httpd_reply_error(q, 400, "from: expected YYYY-MM-DD");
        if (to_s && parse_iso_date(to_s, &to) < 0)
                return httpd_reply_error(q, 400, "to: expected YYYY-MM-DD");
        if (!from_s && local_from_instant(now, &from, &sec) < 0)
                return -EIO;
        if (!to_s)
                to = from + 365;
        if (to < from)
                return httpd_reply_error(q, 400, "to is before from");
        r = web_store(w, &s);
        if (r >= 0)
                r = views_deadlines(w->config, w->calendar, s, from, to, now, &j);
        return reply_view(q, r, j);
}

static int parse_uint(const char *s, uint64_t max, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s[0] || s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int on_api_events(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        const char *since_s = httpd_request_query(q, "since");
        const char *limit_s = httpd_request_query(q, "limit");
        uint64_t since = 0, limit = 0;
        json_t *j = NULL;
        Store *s;
        int r;

        if (since_s && parse_uint(since_s, INT64_MAX, &since) < 0)
                return httpd_reply_error(q, 400, "since: expected an event id");
        if (limit_s && (parse_uint(limit_s, VIEWS_EVENTS_MAX, &limit) < 0 || limit == 0))
                return httpd_reply_error(q, 400, "limit: expected 1-%u", VIEWS_EVENTS_MAX);
        r = web_store(w, &s);
        if (r >= 0)
                r = views_events(s, (int64_t) since, (unsigned) limit, &j);
        return reply_view(q, r, j);
}

static int on_metrics(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!w->monitor)
                return httpd_reply_error(q, 503, "fieldwatchd is starting");
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        monitor_write_prometheus(w->monitor, f);
        return reply_memstream(q, "text/plain; version=0.0.4; charset=utf-8", f, &buf, &size);
}

static int on_healthz(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        char summary[256];

        if (!w->monitor)
                return httpd_reply_error(q, 503, "fieldwatchd is starting");
        monitor_summary(w->monitor, summary, sizeof(summary));
        (void) httpd_reply_header(q, "Cache-Control", "no-store");
        return httpd_reply_json(q, 200, json_pack("{s:b, s:s, s:I}", "ok", 1, "summary", summary,
                                                  "live_clients", (json_int_t) w->n_clients));
}

/* ======================================================================== */

static const struct {
        const char *path;
        unsigned flags;
        HttpdHandler handler;
} routes[] = {
        { "/", HTTPD_ROUTE_EXACT, on_page },
        { "/site", 0, on_site },
        { "/live.js", HTTPD_ROUTE_EXACT, on_live_js },
        { "/events", HTTPD_ROUTE_EXACT, on_sse },
        { "/api/v1/status", HTTPD_ROUTE_EXACT, on_api_status },
        { "/api/v1/faults", HTTPD_ROUTE_EXACT, on_api_faults },
        { "/api/v1/deadlines", HTTPD_ROUTE_EXACT, on_api_deadlines },
        { "/api/v1/events", HTTPD_ROUTE_EXACT, on_api_events },
        { "/metrics", HTTPD_ROUTE_EXACT, on_metrics },
        { "/healthz", HTTPD_ROUTE_EXACT, on_healthz },
};

int web_new(sd_event *e, const Config *c, const char *state_dir, const char *credentials_dir,
            Web **ret) {
        struct MHD_OptionItem tls[3];
        char *auth = NULL;
        Web *w;
        int r;

        *ret = NULL;
        if (!c->http.listen.enabled)
                return 0;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(e);
        w->state_dir = strdup(state_dir);
        if (!w->state_dir) {
                web_free(w);
                return -ENOMEM;
        }
        if (c->http.tls_cert) {
                if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
                        log_error("http: this libmicrohttpd has no TLS support; tls_cert cannot "
                                  "be used.");
                        web_free(w);
                        return -EOPNOTSUPP;
                }
                r = read_pem(c->http.tls_cert, false, &w->tls_cert);
                if (r >= 0)
                        r = read_pem(c->http.tls_key, true, &w->tls_key);
                if (r < 0) {
                        web_free(w);
                        return r;
                }
        }
        if (c->http.auth_credential) {
                r = credential_read(credentials_dir, c->http.auth_credential, &auth);
                if (r >= 0 && !strchr(auth, ':')) {
                        log_error("http: the credential %s is not of the form user:password.",
                                  c->http.auth_credential);
                        r = -EINVAL;
                }
                if (r < 0) {
                        if (r != -EINVAL)
                                log_errno(LOG_ERR, r, "http: cannot read the credential %s",
                                          c->http.auth_credential);
                        auth = credential_free(auth);
                        web_free(w);
                        return r;
                }
        }
        tls[0] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_KEY, 0, w->tls_key };
        tls[1] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_CERT, 0, w->tls_cert };
        tls[2] = (struct MHD_OptionItem) { MHD_OPTION_END, 0, NULL };
        r = httpd_new(e,
                      &(HttpdOptions) {
                              .listen_fd = -1,
                              .tcp_address = c->http.listen.address,
                              .tcp_port = c->http.listen.port,
                              .response_max = WEB_RESPONSE_MAX,
                              /* The live clients and as many others. */
                              .connections_max = 2 * WEB_SSE_CLIENTS_MAX,
                              .timeout_sec = 60,
                              .basic_auth = auth,
                              .realm = "fieldwatch",
                              .extra_flags = w->tls_cert ? MHD_USE_TLS : 0,
                              .extra_options = w->tls_cert ? tls : NULL,
                      },
                      &w->httpd);
        auth = credential_free(auth);
        if (r < 0) {
                /* Probing matters more than the view: the daemon runs on. */
                log_errno(LOG_ERR, r, "http: cannot listen on %s port %u; the web view is off",
                          c->http.listen.address, c->http.listen.port);
                web_free(w);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                r = httpd_add_route(w->httpd, "GET", routes[i].path,
                                    routes[i].flags | HTTPD_ROUTE_NO_BODY, routes[i].handler, w);
                if (r < 0) {
                        web_free(w);
                        return r;
                }
        }
        r = sd_event_add_time_relative(e, &w->tick, CLOCK_MONOTONIC, TICK, 100 * USEC_PER_MSEC,
                                       on_tick, w);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->tick, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &w->change, CLOCK_MONOTONIC, CHANGE_DELAY, 0,
                                               on_change, w);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->change, SD_EVENT_OFF);
        if (r < 0) {
                web_free(w);
                return r;
        }
        log_info("Web view on %s://%s%s%s:%u/%s.", w->tls_cert ? "https" : "http",
                 strchr(c->http.listen.address, ':') ? "[" : "", c->http.listen.address,
                 strchr(c->http.listen.address, ':') ? "]" : "", c->http.listen.port,
                 c->http.auth_credential ? " (basic auth)" : "");
        *ret = w;
        return 0;
}

Web *web_free(Web *w) {
        if (!w)
                return NULL;
        (void) sd_event_source_disable_unref(w->tick);
        (void) sd_event_source_disable_unref(w->change);
        /* Ends the live clients too (their sse_closed runs now). */
        httpd_free(w->httpd);
        store_close(w->store);
        if (w->tls_key) {
                explicit_bzero(w->tls_key, strlen(w->tls_key));
                free(w->tls_key);
        }
        free(w->tls_cert);
        free(w->state_dir);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

void web_set_state(Web *w, Monitor *m, const Config *c, const Calendar *cal) {
        if (!w)
                return;
        w->monitor = m;
        w->config = c;
        w->calendar = cal;
        w->generation = 0;
}

uint16_t web_port(Web *w) {
        return w && w->httpd ? httpd_port(w->httpd) : 0;
}
