/* SPDX-License-Identifier: MIT */

/* The web view's HTML (web.h): the page of every site (GET /), the page of
 * one site (GET /site/NN) and the script that keeps them live (GET
 * /live.js), rendered from the same JSON the API serves (views.h), escaped
 * with libxml2. */

#include <errno.h>
#include <inttypes.h>
#include <libxml/entities.h>
#include <libxml/xmlmemory.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "macro.h"
#include "store.h"
#include "timeutil.h"
#include "views.h"
#include "web-internal.h"

#define PAGE_EVENTS 50U
#define PAGE_DEADLINE_DAYS 30
#define STRIP_DAYS 30

/* ======================================================================== */
/* Helpers */

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
        ".notlive{background:#b00020;color:#fff;font-weight:bold;padding:0.2rem 0.4rem;"
        "margin:0 0 0.3rem}"
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
        /* Shown by live.js while the live stream is down (outside #live, which
         * a refresh replaces). */
        fprintf(f, "<p id=\"not-live\" class=\"notlive\" role=\"status\" hidden>%s</p>",
                T(en, "ライブ更新が止まっています（30秒ごとに読み直します）",
                  "Not live: updates stopped (reloading every 30 s)"));
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

static void fault_clock(Web *w, FILE *f, bool en, const json_t *ft, time_t now) {
        time_t due = jtime(ft, "due");
        int64_t left = (int64_t) (due - now);
        uint64_t warn = w->config ? w->config->sla.warn_before / USEC_PER_SEC : 1800;

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
                fputs(T(en, "（翌朝対応 承認: ", " (deferred, approved by "), f);
                esc(f, jstr(ft, "deferral_approved_by") ?: "?");
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


int web_on_page(HttpdRequest *q, void *userdata) {
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
                return web_not_ready(q, r);
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
        return web_reply_memstream(q, "text/html; charset=utf-8", f, &buf, &size);
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

int web_on_site(HttpdRequest *q, void *userdata) {
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
                return web_not_ready(q, r);
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
        return web_reply_memstream(q, "text/html; charset=utf-8", f, &buf, &size);
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
        /* Not live (the stream failed, or the server is full and said to come
         * back): said on the page, and the page read every 30 s meanwhile. A
         * stream the browser gave up on (an answer but 200) is opened anew. */
        "  var poll = null;\n"
        "  function live(on) {\n"
        "    var was = body.dataset.live, banner = document.getElementById('not-live');\n"
        "    body.dataset.live = on ? 'yes' : 'no';\n"
        "    if (banner) banner.hidden = on;\n"
        "    if (on && poll) { clearInterval(poll); poll = null; }\n"
        "    if (!on && !poll) poll = setInterval(refresh, 30000);\n"
        "    if (on && was === 'no') refresh();\n"
        "  }\n"
        "  function connect() {\n"
        "    var es = new EventSource('/events');\n"
        "    es.addEventListener('change', refresh);\n"
        "    es.addEventListener('open', function () { live(true); });\n"
        "    es.addEventListener('error', function () {\n"
        "      live(false);\n"
        "      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 30000);\n"
        "    });\n"
        "  }\n"
        "  if (window.EventSource) connect();\n"
        "  else live(false);\n"
        "})();\n";

int web_on_live_js(HttpdRequest *q, void *userdata) {
        (void) userdata;
        (void) httpd_reply_header(q, "Cache-Control", "no-cache");
        return httpd_reply(q, 200, "text/javascript; charset=utf-8", live_js, strlen(live_js));
}
