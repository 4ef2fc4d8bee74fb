/* SPDX-License-Identifier: MIT */

/* The contract's report builders: the quarterly work report, the fault
 * recovery and data erasure reports, availability, the response clock,
 * security incidents and disposal, with the words and labels they share.
 * The document writer is report-doc.c's, the measures report-measures.c's. */

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clocks.h"
#include "macro.h"
#include "report-internal.h"
#include "words.h"

/* ======================================================================== */
/* Words */

/* The words of a fault's kind; the kind itself when it has none. */
static const char *kind_word(Language l, const char *kind) {
        return words_kind(kind, l) ?: kind;
}

/* A deliverable's title: "作業実績報告書", "Work report (作業実績報告書)". */
static const char *deliverable_title(Language l, Word w, char buf[static LABEL_MAX]) {
        char cap[WORD_MAX];

        if (l == LANGUAGE_JA)
                return word(w, l);
        (void) snprintf(buf, LABEL_MAX, "%s (%s)", word_capitalized(w, l, cap),
                        word(w, LANGUAGE_JA));
        return buf;
}

static const char *site_name(const ReportContext *c, const char *site) {
        const SiteConf *s;

        if (!site[0])
                return word(WORD_CITY_HALL, c->lang);
        s = config_find_site(c->config, site);
        return s && s->name ? s->name : "";
}

/* "05 市川市…", or "市役所" for the VPN. */
static char *site_label(const ReportContext *c, const char *site, char buf[static LABEL_MAX]) {
        const char *name = site_name(c, site);

        (void) snprintf(buf, LABEL_MAX, "%s%s%s", site, site[0] && name[0] ? " " : "", name);
        return buf;
}

/* "カメラ（05-camera）". */
static char *device_label(Language l, const char *device, char buf[static LABEL_MAX]) {
        const char *w = words_device(device, l);

        if (w)
                (void) snprintf(buf, LABEL_MAX, tr(l, "%s（%s）", "%s (%s)"), w, device);
        else
                (void) snprintf(buf, LABEL_MAX, "%s", device);
        return buf;
}

/* The period as "2026-07-01 〜 2026-09-30", or cut at the report's time. */
static char *period_text(Language l, const ReportPeriod *p, char buf[static LABEL_MAX]) {
        char a[TIME_MAX], b[TIME_MAX];

        if (p->partial)
                (void) snprintf(buf, LABEL_MAX,
                                tr(l, "%s 〜 %s（作成時点まで）", "%s to %s (so far)"),
                                fmt_day(p->first, a), fmt_time(p->to, b));
        else
                (void) snprintf(buf, LABEL_MAX, tr(l, "%s 〜 %s", "%s to %s"),
                                fmt_day(p->first, a), fmt_day(p->last, b));
        return buf;
}

/* A due day with its deliver-by day when that is earlier. */
static char *due_text(Language l, const ReportDue *d, char buf[static LABEL_MAX]) {
        char a[TIME_MAX], b[TIME_MAX];

        if (d->deliver_by == d->due)
                (void) snprintf(buf, LABEL_MAX, "%s", fmt_day(d->due, a));
        else
                (void) snprintf(buf, LABEL_MAX,
                                tr(l, "%s（休日のため %s までに提出）",
                                   "%s (deliver by %s, the business day before)"),
                                fmt_day(d->due, a), fmt_day(d->deliver_by, b));
        return buf;
}

static char *strv_join(char *const *v, size_t n, const char *sep) {
        size_t len = 1, k = 0;
        char *s;

        for (size_t i = 0; i < n; i++)
                len += strlen(v[i]) + strlen(sep);
        s = malloc(len);
        if (!s)
                return NULL;
        s[0] = 0;
        for (size_t i = 0; i < n; i++)
                k += (size_t) snprintf(s + k, len - k, "%s%s", i ? sep : "", v[i]);
        return s;
}

/* 「令和8年度 第3四半期（10月～12月）」: the quarter as the city names it, by
 * fiscal year (April–March) and era; NULL unless p is a whole quarter's. */
static char *quarter_name(Language l, const ReportPeriod *p, char buf[static LABEL_MAX]) {
        int y, m, d, fy, q;

        if (!p || (!strchr(p->label, 'Q') && !strchr(p->label, 'q')))
                return NULL;
        day_to_ymd(p->first, &y, &m, &d);
        fy = m >= 4 ? y : y - 1;
        q = (m + 8) % 12 / 3 + 1;
        m = (q * 3 + 1) % 12 ?: 12; /* the quarter's first month: 4, 7, 10, 1 */
        if (l == LANGUAGE_JA) {
                if (fy == 2019)
                        (void) snprintf(buf, LABEL_MAX, "令和元年度 第%d四半期（%d月～%d月）", q,
                                        m, m + 2);
                else
                        (void) snprintf(buf, LABEL_MAX, "令和%d年度 第%d四半期（%d月～%d月）",
                                        fy - 2018, q, m, m + 2);
        } else {
                static const char *const months[] = { "January", "February", "March", "April",
                                                      "May", "June", "July", "August",
                                                      "September", "October", "November",
                                                      "December" };

                (void) snprintf(buf, LABEL_MAX, "FY%d Q%d (%s to %s)", fy, q, months[m - 1],
                                months[m + 1]);
        }
        return buf;
}

/* Opens the field section that starts most reports: the contract, the
 * period and the time of making. The caller may add fields; it closes it. */
static void doc_preamble(Doc *d, const ReportContext *c, const ReportPeriod *p) {
        char period[LABEL_MAX], now[TIME_MAX], quarter[LABEL_MAX];

        doc_fields_begin(d);
        if (c->config->contract.title)
                doc_field(d, tr(c->lang, "件名", "Title"), c->config->contract.title);
        doc_field(d, tr(c->lang, "契約名", "Contract"), c->config->contract.name ?: "");
        if (quarter_name(c->lang, p, quarter))
                doc_field(d, tr(c->lang, "四半期", "Quarter"), quarter);
        if (p)
                doc_field(d, tr(c->lang, "対象期間", "Period"), period_text(c->lang, p, period));
        doc_field(d, tr(c->lang, "作成日時", "Prepared"), fmt_time(c->now, now));
}

static void doc_zone_note(Doc *d, const ReportContext *c) {
        char note[LABEL_MAX];

        (void) snprintf(note, sizeof(note),
                        tr(c->lang, "時刻は契約の時間帯（%s）で表示しています。",
                           "Times are contract time (%s)."),
                        c->config->contract.timezone ?: "Asia/Tokyo");
        doc_paragraph(d, note, true);
}

/* ======================================================================== */
/* 作業実績報告書 */

static void quarterly_due(const ReportContext *c, const ReportPeriod *p,
                          char buf[static LABEL_MAX]) {
        _cleanup_(freep) Deadline *d = NULL;
        size_t n = 0;

        buf[0] = 0;
        if (clocks_contract_deadlines(c->cal, &c->config->contract, p->last, p->last + 200, &d,
                                      &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (d[i].kind == DEADLINE_QUARTERLY_REPORT && d[i].period_end == p->last) {
                        ReportDue due = { .due = d[i].due, .deliver_by = d[i].deliver_by,
                                          .overdue_after = d[i].overdue_after };

                        (void) due_text(c->lang, &due, buf);
                        return;
                }
}

#define QUARTERLY_WORK_COLUMNS 9

/* Onsite work on a fault begun by the period's end and not recorded yet
 * (no recovery, so no work row): work in progress, which the report lists
 * rather than say there was none. */
static bool work_in_progress(const ReportPeriod *p, const ReportFault *f, const ReportWork *w,
                             size_t n) {
        if (!f->onsite_started_at || f->onsite_started_at >= p->to || f->recovered_at ||
            f->temporary_recovered_at)
                return false;
        for (size_t i = 0; i < n; i++)
                if (w[i].fault_id == f->id)
                        return false;
        return true;
}

static void quarterly_work(Doc *d, const ReportContext *c, const ReportPeriod *p,
                           const ReportWork *w, size_t n, const ReportFault *f, size_t n_faults) {
        Language l = c->lang;
        const char *headers[] = {
                "No.",
                tr(l, "開始日時", "Start"),
                tr(l, "終了日時", "End"),
                tr(l, "作業時間", "Hours"),
                tr(l, "担当者名", "Person in charge"),
                tr(l, "作業名", "Work"),
                tr(l, "作業内容", "Content"),
                tr(l, "特記事項", "Notes"),
                tr(l, "障害番号", "Fault"),
        };
        const char *no_work = tr(l, "当該期間の作業実績はありません。",
                                 "There was no work in this period.");
        char total_text[LABEL_MAX], hm[TIME_MAX];
        size_t ongoing = 0, row = 0;
        int64_t total = 0;

        _Static_assert(ELEMENTSOF(headers) == QUARTERLY_WORK_COLUMNS, "the CSV's width");
        doc_heading(d, tr(l, "作業実績", "Work done"));
        for (size_t i = 0; i < n_faults; i++)
                ongoing += work_in_progress(p, &f[i], w, n);
        if (n == 0 && ongoing == 0) {
                doc_paragraph(d, no_work, false);
                return;
        }
        doc_table_begin(d, headers, ELEMENTSOF(headers), "rllrllllr", true);
        for (size_t i = 0; i < n; i++) {
                char no[TIME_MAX], start[TIME_MAX], end[TIME_MAX], hours[TIME_MAX],
                        fault[TIME_MAX];

                total += (int64_t) (w[i].end_at - w[i].start_at);
                doc_row(d, (const char *const[]) {
                                   fmt_int((int64_t) ++row, no), fmt_time(w[i].start_at, start),
                                   fmt_time(w[i].end_at, end),
                                   fmt_hm((int64_t) (w[i].end_at - w[i].start_at), hours),
                                   w[i].person ?: "", w[i].title ?: "", w[i].content ?: "",
                                   w[i].notes ?: "",
                                   w[i].fault_id > 0 ? fmt_int(w[i].fault_id, fault) : "" });
        }
        for (size_t i = 0; i < n_faults; i++) {
                char no[TIME_MAX], start[TIME_MAX], fault[TIME_MAX], title[LABEL_MAX];

                if (!work_in_progress(p, &f[i], w, n))
                        continue;
                (void) snprintf(title, sizeof(title), tr(l, "障害対応（%s、対応中）",
                                                         "Fault work (%s, in progress)"),
                                kind_word(l, f[i].kind));
                doc_row(d, (const char *const[]) {
                                   fmt_int((int64_t) ++row, no),
                                   fmt_time(f[i].onsite_started_at, start),
                                   tr(l, "対応中", "in progress"), "", f[i].onsite_by ?: "", title,
                                   "", tr(l, "復旧の記録後に作業時間を計上", "hours counted once "
                                                                          "the recovery is "
                                                                          "recorded"),
                                   fmt_int(f[i].id, fault) });
        }
        doc_table_end(d);
        (void) snprintf(total_text, sizeof(total_text),
                        tr(l, "作業時間合計: %s（%zu件）%s", "Total work time: %s (%zu item%s)"),
                        fmt_hm(total, hm), n, l == LANGUAGE_EN && n != 1 ? "s" : "");
        doc_paragraph(d, total_text, false);
        if (ongoing > 0) {
                (void) snprintf(total_text, sizeof(total_text),
                                tr(l, "対応中の障害対応: %zu件", "Fault work in progress: %zu"),
                                ongoing);
                doc_paragraph(d, total_text, false);
        }
}

static void quarterly_faults(Doc *d, const ReportContext *c, const ReportPeriod *p,
                             const ReportFault *f, size_t n) {
        Language l = c->lang;
        const char *headers[] = {
                tr(l, "障害番号", "Fault"),      tr(l, "現場", "Site"),
                tr(l, "機器", "Device"),         tr(l, "種別", "Kind"),
                tr(l, "検知日時", "Detected"),   tr(l, "受付日時", "Received"),
                tr(l, "現地着手日時", "Onsite started"), tr(l, "復旧日時", "Recovered"),
        };
        size_t shown = 0;

        doc_heading(d, tr(l, "障害対応", "Faults handled"));
        for (size_t i = 0; i < n; i++) {
                char id[TIME_MAX], site[LABEL_MAX], det[TIME_MAX], rec[TIME_MAX], on[TIME_MAX],
                        done[TIME_MAX];

                if (!report_fault_in_period(&f[i], p->from, p->to))
                        continue;
                if (shown++ == 0)
                        doc_table_begin(d, headers, ELEMENTSOF(headers), "rlllllll", false);
                doc_row(d, (const char *const[]) { fmt_int(f[i].id, id),
                                                   site_label(c, f[i].site, site), f[i].device,
                                                   kind_word(l, f[i].kind),
                                                   fmt_time(f[i].detected_at, det),
                                                   fmt_time(f[i].received_at, rec),
                                                   fmt_time(f[i].onsite_started_at, on),
                                                   fmt_time(f[i].recovered_at, done) });
        }
        if (shown > 0)
                doc_table_end(d);
        else
                doc_paragraph(d, tr(l, "当該期間の障害はありません。",
                                    "There were no faults in this period."),
                              false);
}

/* The anomalies investigated in the period (L107-111), and whether they
 * were handled as faults. */
static void quarterly_investigations(Doc *d, const ReportContext *c, const Investigation *v,
                                     size_t n) {
        Language l = c->lang;
        const char *headers[] = {
                tr(l, "調査日時", "Investigated"), tr(l, "異常番号", "Anomaly"),
                tr(l, "機器", "Device"),           tr(l, "担当者名", "Person in charge"),
                tr(l, "調査結果", "Findings"),     tr(l, "障害として対応", "Handled as fault"),
        };

        doc_heading(d, tr(l, "異常の調査", "Anomalies investigated"));
        if (n == 0) {
                doc_paragraph(d, tr(l, "当該期間に調査した異常はありません。",
                                    "No anomaly was investigated in this period."),
                              false);
                return;
        }
        doc_table_begin(d, headers, ELEMENTSOF(headers), "lrllll", false);
        for (size_t i = 0; i < n; i++) {
                char at[TIME_MAX], id[TIME_MAX], fault[TIME_MAX], device[LABEL_MAX];

                if (v[i].fault_id > 0)
                        (void) snprintf(fault, sizeof(fault), tr(l, "障害 %lld", "fault %lld"),
                                        (long long) v[i].fault_id);
                else
                        (void) snprintf(fault, sizeof(fault), "%s", tr(l, "なし", "no"));
                doc_row(d, (const char *const[]) {
                                   fmt_time(v[i].at, at), fmt_int(v[i].anomaly_id, id),
                                   device_label(l, v[i].device, device), v[i].person, v[i].note,
                                   fault });
        }
        doc_table_end(d);
}

int report_quarterly(const ReportContext *c, const ReportPeriod *p, const ReportWork *work,
                     size_t n_work, const ReportFault *faults, size_t n_faults,
                     const Investigation *inv, size_t n_inv, char **ret) {
        char name[LABEL_MAX], due[LABEL_MAX], buf[LABEL_MAX];
        const char *title = deliverable_title(c->lang, WORD_QUARTERLY_REPORT, buf);
        Doc d;
        int r;

        r = doc_open(&d, c, false);
        if (r < 0)
                return r;
        /* CSV: every section, each under its heading, as wide as the work table. */
        d.csv_width = QUARTERLY_WORK_COLUMNS;
        (void) snprintf(name, sizeof(name), "%s %s", title, p->label);
        doc_begin(&d, title, name);
        doc_preamble(&d, c, p);
        quarterly_due(c, p, due);
        if (due[0])
                doc_field(&d, tr(c->lang, "提出期限", "Due"), due);
        doc_fields_end(&d);
        quarterly_work(&d, c, p, work, n_work, faults, n_faults);
        quarterly_faults(&d, c, p, faults, n_faults);
        quarterly_investigations(&d, c, inv, n_inv);
        doc_zone_note(&d, c);
        doc_end(&d);
        return doc_close(&d, 0, ret);
}

/* ======================================================================== */
/* 障害復旧作業報告書 and データ消去報告書 */

/* The fault's identity: id, site, device, kind. */
static void fault_identity(Doc *d, const ReportContext *c, const ReportFault *f) {
        char id[TIME_MAX], site[LABEL_MAX], device[LABEL_MAX], kind[LABEL_MAX];
        Language l = c->lang;

        (void) snprintf(kind, sizeof(kind), tr(l, "%s（%s）", "%s (%s)"), kind_word(l, f->kind),
                        f->kind);
        doc_field(d, tr(l, "障害番号", "Fault"), fmt_int(f->id, id));
        doc_field(d, tr(l, "現場", "Site"), site_label(c, f->site, site));
        doc_field(d, tr(l, "機器", "Device"), device_label(l, f->device, device));
        doc_field(d, tr(l, "障害種別", "Kind"),
                  streq(kind_word(l, f->kind), f->kind) ? f->kind : kind);
}

static int fault_summary(Doc *d, const ReportContext *c, const ReportFault *f) {
        _cleanup_(freep) char *hidden = strv_join(f->hidden, f->n_hidden, ", ");
        Language l = c->lang;

        if (!hidden)
                return -ENOMEM;
        doc_heading(d, tr(l, "障害の概要", "The fault"));
        doc_fields_begin(d);
        fault_identity(d, c, f);
        doc_field(d, tr(l, "把握の経緯", "Found by"),
                  f->origin == FAULT_ORIGIN_CALL      ? tr(l, "通報（監視では検知できない障害）",
                                                           "a call (no probe sees it)")
                  : f->origin == FAULT_ORIGIN_ANOMALY ? tr(l, "異常の調査（障害として対応）",
                                                           "the investigation of an anomaly")
                                                      : tr(l, "監視による検知", "the probes"));
        doc_field(d, tr(l, "検知した症状", "Symptom"), f->reason ?: "");
        doc_field(d, tr(l, "確認箇所", "Check"), f->hint ?: "");
        doc_field(d, tr(l, "到達不能になった機器", "Devices made unreachable"), hidden);
        doc_fields_end(d);
        return 0;
}

static void fault_timeline(Doc *d, const ReportContext *c, const ReportFault *f) {
        char det[TIME_MAX], rec[TIME_MAX], due[TIME_MAX], appr[TIME_MAX], ddue[TIME_MAX],
                on[TIME_MAX], done[TIME_MAX], clr[TIME_MAX], late[TIME_MAX], met[LABEL_MAX];
        time_t due_at = report_fault_due_at(f);
        Language l = c->lang;

        met[0] = 0;
        if (f->sendback)
                (void) snprintf(met, sizeof(met), "%s",
                                tr(l, "センドバック保守（現地着手期限なし）",
                                   "send-back maintenance (no onsite due)"));
        else if (!f->received_at)
                (void) snprintf(met, sizeof(met), "%s",
                                tr(l, "未受付（障害受付の連絡なし）", "not received (no call)"));
        else if (f->onsite_started_at && f->onsite_started_at <= due_at)
                (void) snprintf(met, sizeof(met), "%s", tr(l, "期限内", "met"));
        else if (f->onsite_started_at)
                (void) snprintf(met, sizeof(met),
                                tr(l, "期限超過（%s 超過）", "missed (late by %s)"),
                                fmt_hms((int64_t) (f->onsite_started_at - due_at), late));
        doc_heading(d, tr(l, "経過", "Timeline"));
        doc_fields_begin(d);
        doc_field(d, tr(l, "検知日時", "Detected"), fmt_time(f->detected_at, det));
        doc_field(d, tr(l, "受付日時", "Received"), fmt_time(f->received_at, rec));
        if (f->received_from && f->received_from[0])
                doc_field(d, tr(l, "障害受付の連絡元", "Call from"), f->received_from);
        doc_field(d, tr(l, "現地着手期限", "Onsite due"), fmt_time(f->onsite_due, due));
        doc_field(d, tr(l, "延期の承認日時", "Deferral approved"),
                  fmt_time(f->deferral_approved_at, appr));
        doc_field(d, tr(l, "延期の承認者", "Deferral approved by"), f->deferral_approved_by ?: "");
        doc_field(d, tr(l, "延期の理由", "Reason for the deferral"), f->deferral_reason ?: "");
        doc_field(d, tr(l, "延期後の現地着手期限", "Deferred onsite due"),
                  deferral_counts(f->deferral_approved_at, f->onsite_due, f->deferred_onsite_due)
                          ? fmt_time(f->deferred_onsite_due, ddue)
                          : "");
        doc_field(d, tr(l, "現地作業開始日時", "Onsite work started"),
                  fmt_time(f->onsite_started_at, on));
        doc_field(d, tr(l, "現地着手期限の遵守", "Onsite due met"), met);
        doc_field(d, tr(l, "復旧日時", "Recovered"), fmt_time(f->recovered_at, done));
        doc_field(d, tr(l, "機器の応答回復日時", "Device back in service"),
                  fmt_time(report_fault_end(f), clr));
        doc_fields_end(d);
}

static char *person_at(Language l, const char *who, time_t at, char buf[static LABEL_MAX]);

static int fault_work(Doc *d, const ReportContext *c, const ReportFault *f) {
        _cleanup_(freep) char *parts = strv_join(f->parts, f->n_parts, ", ");
        Language l = c->lang;

        if (!parts)
                return -ENOMEM;
        doc_heading(d, tr(l, "対応内容", "Recovery work"));
        doc_fields_begin(d);
        doc_field(d, tr(l, "障害発生原因", "Cause"), f->cause ?: "");
        doc_field(d, tr(l, "対処作業の結果", "Action taken and result"), f->action ?: "");
        doc_field(d, tr(l, "再発防止策", "Prevention"), f->prevention ?: "");
        doc_field(d, tr(l, "交換部品", "Parts replaced"),
                  parts[0] ? parts : tr(l, "なし", "none"));
        if (f->remote)
                doc_field(d, tr(l, "対応方法", "How"),
                          tr(l, "遠隔（現地作業なし）", "remotely (no visit)"));
        if (f->temporary_recovered_at) {
                char t[TIME_MAX];

                doc_field(d, tr(l, "暫定復旧", "Provisional recovery"),
                          fmt_time(f->temporary_recovered_at, t));
        }
        if (f->loaner && f->loaner[0])
                doc_field(d, tr(l, "代替機器", "Loaner installed"), f->loaner);
        if (f->quote_at) {
                _cleanup_(freep) char *q = strv_join(f->quote_parts, f->n_quote_parts, ", ");
                char buf[LABEL_MAX], who[LABEL_MAX];

                (void) snprintf(buf, sizeof(buf), tr(l, "%s（%" PRId64 " 円）提出 %s",
                                                     "%s (%" PRId64 " yen), handed in by %s"),
                                q ?: "", f->quote_amount,
                                person_at(l, f->quote_by, f->quote_at, who));
                doc_field(d, tr(l, "有償交換部品の見積", "Paid parts quoted"), buf);
                doc_field(d, tr(l, "見積の承認", "Quote approved"),
                          f->quote_approved_at
                                  ? person_at(l, f->quote_approved_by, f->quote_approved_at, who)
                                  : tr(l, "未承認", "not yet"));
        }
        doc_field(d, tr(l, "情報記録媒体の交換", "Storage medium replaced"),
                  f->media_replaced ? tr(l, "あり（データ消去報告書を別途提出）",
                                         "yes (see the data erasure report)")
                                    : tr(l, "なし", "no"));
        doc_fields_end(d);
        return 0;
}

/* "山田 太郎（2026-09-16 10:05）". */
static char *person_at(Language l, const char *who, time_t at, char buf[static LABEL_MAX]) {
        char t[TIME_MAX];

        if (!who || !who[0])
                (void) snprintf(buf, LABEL_MAX, "%s", fmt_time(at, t));
        else if (at)
                (void) snprintf(buf, LABEL_MAX, tr(l, "%s（%s）", "%s (%s)"), who,
                                fmt_time(at, t));
        else
                (void) snprintf(buf, LABEL_MAX, "%s", who);
        return buf;
}

static void fault_people(Doc *d, const ReportContext *c, const ReportFault *f) {
        char ack[LABEL_MAX], on[LABEL_MAX], rec[LABEL_MAX];
        Language l = c->lang;

        doc_heading(d, tr(l, "対応者", "People"));
        doc_fields_begin(d);
        doc_field(d, tr(l, "受付確認者", "Acknowledged by"),
                  person_at(l, f->acknowledged_by, f->acknowledged_at, ack));
        doc_field(d, tr(l, "受付時の記録", "Acknowledgement note"), f->ack_note ?: "");
        doc_field(d, tr(l, "現地作業者", "Onsite work by"),
                  person_at(l, f->onsite_by, f->onsite_started_at, on));
        doc_field(d, tr(l, "復旧作業者", "Recovery work by"),
                  person_at(l, f->recovered_by, f->recovered_at, rec));
        doc_fields_end(d);
}

/* The report's own due day, the submission and the time of making. */
static void fault_report_due(Doc *d, const ReportContext *c, const ReportFault *f, bool erasure) {
        uint64_t within = erasure ? c->config->sla.erasure_report_within
                                  : c->config->sla.recovery_report_within;
        time_t submitted = erasure ? f->erasure_report_submitted_at
                                   : f->recovery_report_submitted_at;
        char due[LABEL_MAX], sub[TIME_MAX], now[TIME_MAX];
        Language l = c->lang;
        ReportDue rd;

        due[0] = 0;
        if (clocks_report_due(c->cal, f->recovered_at, within, &rd) >= 0)
                (void) due_text(l, &rd, due);
        doc_heading(d, tr(l, "本報告書", "This report"));
        doc_fields_begin(d);
        doc_field(d, tr(l, "提出期限", "Due"), due);
        doc_field(d, tr(l, "提出日時", "Handed in"),
                  submitted ? fmt_time(submitted, sub) : tr(l, "未提出", "not yet"));
        if (c->config->contract.title)
                doc_field(d, tr(l, "件名", "Title"), c->config->contract.title);
        doc_field(d, tr(l, "契約名", "Contract"), c->config->contract.name ?: "");
        doc_field(d, tr(l, "作成日時", "Prepared"), fmt_time(c->now, now));
        doc_fields_end(d);
}

int report_fault(const ReportContext *c, const ReportFault *f, char **ret) {
        char name[LABEL_MAX], buf[LABEL_MAX];
        const char *title = deliverable_title(c->lang, WORD_RECOVERY_REPORT, buf);
        Doc d;
        int r;

        if (!f->recovered_at)
                return -ENODATA;
        r = doc_open(&d, c, true);
        if (r < 0)
                return r;
        (void) snprintf(name, sizeof(name), "%s %" PRId64, title, f->id);
        doc_begin(&d, title, name);
        r = fault_summary(&d, c, f);
        if (r >= 0) {
                fault_timeline(&d, c, f);
                r = fault_work(&d, c, f);
        }
        if (r >= 0) {
                fault_people(&d, c, f);
                fault_report_due(&d, c, f, false);
                doc_zone_note(&d, c);
                doc_end(&d);
        }
        return doc_close(&d, r, ret);
}

int report_erasure(const ReportContext *c, const ReportFault *f, char **ret) {
        _cleanup_(freep) char *parts = NULL;
        char name[LABEL_MAX], day[TIME_MAX], buf[LABEL_MAX];
        const char *title = deliverable_title(c->lang, WORD_ERASURE_REPORT, buf);
        Language l = c->lang;
        Day recovered;
        Doc d;
        int sec, r;

        if (!f->recovered_at)
                return -ENODATA;
        if (!f->media_replaced)
                return -ENOMEDIUM;
        parts = f->n_parts > 0 ? strv_join(f->parts, f->n_parts, ", ") : strdup("WV-SDB128G");
        if (!parts)
                return -ENOMEM;
        r = local_from_instant(f->recovered_at, &recovered, &sec);
        if (r < 0)
                return r;
        r = doc_open(&d, c, true);
        if (r < 0)
                return r;
        (void) snprintf(name, sizeof(name), "%s %" PRId64, title, f->id);
        doc_begin(&d, title, name);
        doc_heading(&d, tr(l, "交換した情報記録媒体", "The storage medium replaced"));
        doc_fields_begin(&d);
        doc_field(&d, tr(l, "情報記録媒体", "Storage medium"), parts);
        fault_identity(&d, c, f);
        doc_field(&d, tr(l, "障害復旧作業日", "Recovery work done on"), fmt_day(recovered, day));
        doc_field(&d, tr(l, "復旧作業者", "Recovery work by"), f->recovered_by ?: "");
        doc_fields_end(&d);

        doc_heading(&d, tr(l, "データ消去", "Erasure"));
        doc_paragraph(&d,
                      tr(l, "交換した情報記録媒体は、発注者施設の外へ撤収する前に、発注者職員の"
                            "立会いのもと、データを復元できない方法（物理的破壊又は磁気的破壊）で"
                            "消去した、又は発注者に引き渡した。",
                         "Before it left the city's premises, and in the presence of a city "
                         "official, the replaced storage medium was erased so that its data "
                         "cannot be restored (physical or magnetic destruction), or was handed "
                         "over to the city."),
                      false);
        doc_fields_begin(&d);
        doc_field(&d, tr(l, "処理方法", "Method"),
                  tr(l, "□ 物理的破壊　□ 磁気的破壊　□ 発注者への引渡し",
                     "□ physical destruction  □ magnetic destruction  □ handed over to the city"));
        doc_field(&d, tr(l, "実施日時", "Date and time"), NULL);
        doc_field(&d, tr(l, "実施場所", "Place"), NULL);
        doc_field(&d, tr(l, "作業者（受注者） 氏名", "Done by (contractor), name"), NULL);
        doc_fields_end(&d);

        doc_heading(&d, tr(l, "立会者（発注者職員）", "Witness (city official)"));
        doc_fields_begin(&d);
        doc_field(&d, tr(l, "所属", "Department"), NULL);
        doc_field(&d, tr(l, "氏名", "Name"), NULL);
        doc_field(&d, tr(l, "署名又は印", "Signature or seal"), NULL);
        doc_fields_end(&d);

        fault_report_due(&d, c, f, true);
        doc_zone_note(&d, c);
        doc_end(&d);
        return doc_close(&d, 0, ret);
}

/* ======================================================================== */
/* Availability */

int report_availability(const ReportContext *c, const ReportPeriod *p,
                        const ReportFault *faults, size_t n, char **ret) {
        _cleanup_(freep) Downtime *dt = NULL;
        const char *title = tr(c->lang, "稼働率報告", "Availability report");
        char name[LABEL_MAX], note[LABEL_MAX * 2], a[TIME_MAX], b[TIME_MAX];
        char down_word[WORD_MAX], degraded_word[WORD_MAX];
        int64_t total = (int64_t) (p->to - p->from);
        int64_t business = report_business_seconds(c->cal, p->from, p->to);
        Language l = c->lang;
        size_t n_dt = 0;
        Doc d;
        int r;

        r = report_downtime(c, p, faults, n, &dt, &n_dt);
        if (r < 0)
                return r;
        r = doc_open(&d, c, false);
        if (r < 0)
                return r;
        (void) snprintf(name, sizeof(name), "%s %s", title, p->label);
        doc_begin(&d, title, name);
        doc_preamble(&d, c, p);
        doc_field(&d, tr(l, "対象時間（全時間）", "Hours in the period"), fmt_hms(total, a));
        doc_field(&d, tr(l, "対象時間（業務時間）", "Business hours in the period"),
                  fmt_hms(business, b));
        doc_fields_end(&d);

        doc_heading(&d, tr(l, "機器別の停止時間と稼働率", "Downtime and availability by device"));
        doc_table_begin(
                &d,
                (const char *const[]) {
                        tr(l, "現場", "Site"), tr(l, "設置場所", "Place"), tr(l, "機器", "Device"),
                        word_capitalized(WORD_DOWN, l, down_word),
                        word_capitalized(WORD_DEGRADED, l, degraded_word),
                        tr(l, "稼働率(%)", "Availability (%)"),
                        tr(l, "停止（業務時間）", "Down (business hours)"),
                        tr(l, "機能低下（業務時間）", "Degraded (business hours)"),
                        tr(l, "稼働率(%)（業務時間）", "Availability (%) (business hours)") },
                9, "lllrrrrrr", true);
        for (size_t i = 0; i < n_dt; i++) {
                char down[TIME_MAX], deg[TIME_MAX], pct[TIME_MAX], bdown[TIME_MAX],
                        bdeg[TIME_MAX], bpct[TIME_MAX];

                doc_row(&d, (const char *const[]) {
                                    dt[i].site, site_name(c, dt[i].site), dt[i].device,
                                    fmt_hms(dt[i].down, down), fmt_hms(dt[i].degraded, deg),
                                    fmt_percent(total - dt[i].down, total, pct),
                                    fmt_hms(dt[i].down_business, bdown),
                                    fmt_hms(dt[i].degraded_business, bdeg),
                                    fmt_percent(business - dt[i].down_business, business, bpct) });
        }
        doc_table_end(&d);
        (void) snprintf(note, sizeof(note),
                        tr(l,
                           "停止は障害の検知から解消まで（解消していない障害は期間の終わりまで）の"
                           "時間で、上位機器の障害で到達できなくなった機器はその時間も停止に"
                           "数えます。機能低下は停止と重ならない時間です。業務時間は営業日の"
                           "%02d:%02d〜%02d:%02dです。稼働率は停止していない時間の割合"
                           "（小数点以下2桁、切り捨て）です。",
                           "Down is the time from a fault's detection to its clearing (to the "
                           "end of the period while it is open); a device made unreachable by "
                           "its parent's fault is down for that time too. Degraded counts only "
                           "the time not down. Business hours are %02d:%02d to %02d:%02d on "
                           "business days. Availability is the share of time not down, rounded "
                           "down to two decimals."),
                        calendar_open_sec(c->cal) / 3600, calendar_open_sec(c->cal) / 60 % 60,
                        calendar_close_sec(c->cal) / 3600, calendar_close_sec(c->cal) / 60 % 60);
        doc_paragraph(&d, note, true);
        doc_zone_note(&d, c);
        doc_end(&d);
        return doc_close(&d, 0, ret);
}

/* ======================================================================== */
/* The response clock */

static const char *sla_result_word(Language l, SlaResult s) {
        switch (s) {
        case SLA_MET:
                return tr(l, "期限内", "met");
        case SLA_BREACHED:
                return tr(l, "期限超過", "breached");
        case SLA_PENDING:
                return tr(l, "対応中（期限前）", "pending");
        case SLA_SENDBACK:
                return tr(l, "センドバック保守（現地着手期限なし）", "send-back (no onsite due)");
        default:
                return tr(l, "期限前に解消（現地作業なし）", "cleared before the due time");
        }
}

static void sla_figures(Doc *d, const ReportContext *c, const SlaStats *s) {
        char v[15][TIME_MAX];
        Language l = c->lang;
        bool call = c->config->sla.reception == SLA_RECEPTION_CALL;

        doc_heading(d, tr(l, "集計", "Figures"));
        doc_fields_begin(d);
        doc_field(d, tr(l, "受付の基準", "Reception"),
                  call ? tr(l, "障害受付の連絡を受けた時", "when the fault call is received")
                       : tr(l, "障害を検知した時（受付時間外は翌営業時間の開始）",
                            "at detection (outside business hours: the next opening)"));
        doc_field(d, tr(l, "受付件数", "Faults received"), fmt_int((int64_t) s->received, v[0]));
        doc_field(d, tr(l, "現地作業を開始した件数", "With onsite work"),
                  fmt_int((int64_t) s->onsite, v[1]));
        doc_field(d, tr(l, "応答時間（中央値）", "Response time (median)"),
                  s->response_median >= 0 ? fmt_hms(s->response_median, v[2]) : "");
        doc_field(d, tr(l, "応答時間（最大）", "Response time (maximum)"),
                  s->response_max >= 0 ? fmt_hms(s->response_max, v[3]) : "");
        doc_field(d, tr(l, "期限内に着手", "Met"), fmt_int((int64_t) s->met, v[4]));
        doc_field(d, tr(l, "期限超過", "Breached"), fmt_int((int64_t) s->breached, v[5]));
        doc_field(d, tr(l, "対応中（期限前）", "Pending"), fmt_int((int64_t) s->pending, v[6]));
        doc_field(d, tr(l, "期限前に解消（現地作業なし）", "Cleared before the due time"),
                  fmt_int((int64_t) s->stopped, v[7]));
        doc_field(d, tr(l, "センドバック保守（現地着手期限なし）", "Send-back maintenance (no onsite due)"),
                  fmt_int((int64_t) s->sendback, v[14]));
        doc_field(d, tr(l, "延期承認あり", "Deferred with approval"),
                  fmt_int((int64_t) s->deferred, v[8]));
        doc_field(d, tr(l, "一過性の障害", "Transient faults"),
                  fmt_int((int64_t) s->transient, v[9]));
        doc_field(d, tr(l, "報告書 期限内に提出", "Reports handed in on time"),
                  fmt_int((int64_t) s->reports_on_time, v[10]));
        doc_field(d, tr(l, "報告書 期限後に提出", "Reports handed in late"),
                  fmt_int((int64_t) s->reports_late, v[11]));
        doc_field(d, tr(l, "報告書 未提出", "Reports outstanding"),
                  fmt_int((int64_t) s->reports_outstanding, v[12]));
        doc_field(d, tr(l, "報告書 未提出のうち期限超過", "Reports outstanding and overdue"),
                  fmt_int((int64_t) s->reports_overdue, v[13]));
        doc_fields_end(d);
}

static void sla_faults(Doc *d, const ReportContext *c, const ReportPeriod *p,
                       const ReportFault *f, size_t n) {
        Language l = c->lang;
        const char *headers[] = {
                tr(l, "障害番号", "Fault"),          tr(l, "現場", "Site"),
                tr(l, "機器", "Device"),             tr(l, "種別", "Kind"),
                tr(l, "受付日時", "Received"),       tr(l, "現地着手期限", "Due"),
                tr(l, "現地作業開始", "Onsite started"), tr(l, "応答時間", "Response"),
                tr(l, "結果", "Result"),             tr(l, "延期承認", "Deferral approved"),
        };
        size_t shown = 0;

        doc_heading(d, tr(l, "障害別", "By fault"));
        for (size_t i = 0; i < n; i++) {
                char id[TIME_MAX], rec[TIME_MAX], due[TIME_MAX], on[TIME_MAX], resp[TIME_MAX],
                        appr[TIME_MAX];

                if (!f[i].received_at || !report_fault_received_in(&f[i], p))
                        continue;
                if (shown++ == 0)
                        doc_table_begin(d, headers, ELEMENTSOF(headers), "rllllllrll", false);
                doc_row(d,
                        (const char *const[]) {
                                fmt_int(f[i].id, id), f[i].site, f[i].device,
                                kind_word(l, f[i].kind), fmt_time(f[i].received_at, rec),
                                fmt_time(report_fault_due_at(&f[i]), due),
                                fmt_time(f[i].onsite_started_at, on),
                                f[i].onsite_started_at ? fmt_hms(report_sla_response(&f[i]), resp) : "",
                                sla_result_word(l, report_sla_result(&f[i], c->now)),
                                fmt_time(f[i].deferral_approved_at, appr) });
        }
        if (shown > 0)
                doc_table_end(d);
        else
                doc_paragraph(d, tr(l, "当該期間に受け付けた障害はありません。",
                                    "No fault was received in this period."),
                              false);
}

int report_sla(const ReportContext *c, const ReportPeriod *p, const ReportFault *faults,
               size_t n, char **ret) {
        const char *title = tr(c->lang, "現地対応時間（SLA）報告", "Onsite response (SLA) report");
        char name[LABEL_MAX];
        SlaStats s;
        Doc d;
        int r;

        r = report_sla_stats(c, p, faults, n, &s);
        if (r < 0)
                return r;
        r = doc_open(&d, c, true);
        if (r < 0)
                return r;
        (void) snprintf(name, sizeof(name), "%s %s", title, p->label);
        doc_begin(&d, title, name);
        doc_preamble(&d, c, p);
        doc_fields_end(&d);
        sla_figures(&d, c, &s);
        sla_faults(&d, c, p, faults, n);
        doc_paragraph(&d,
                      tr(c->lang,
                         "対象は期間中に受け付けた障害です。応答時間は受付から現地作業開始まで、"
                         "期限は延期が承認された場合は延期後の期限です。報告書は障害復旧作業"
                         "報告書とデータ消去報告書で、提出日が期間の末日（休日の場合は翌営業日、"
                         "民法第142条）以前なら期限内です。",
                         "The faults received in the period. The response time runs from "
                         "reception to the start of onsite work; the due time is the deferred "
                         "one when a deferral was approved. Reports are the fault recovery and "
                         "data erasure reports, on time when handed in by the period's last "
                         "day (a closed day moves it to the next business day, Civil Code "
                         "art. 142)."),
                      true);
        doc_zone_note(&d, c);
        doc_end(&d);
        return doc_close(&d, 0, ret);
}

/* ======================================================================== */
/* Security incidents (別記1 第9条, 別記2 第10条) */

ReportIncident *report_incidents_free(ReportIncident *v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i].text);
        free(v);
        return NULL;
}

int report_incidents(const ReportContext *c, const ReportPeriod *p, const ReportIncident *v,
                     size_t n, char **ret) {
        const char *title = tr(c->lang, "情報セキュリティ事故報告", "Security incident report");
        char name[LABEL_MAX], count[TIME_MAX];
        Language l = c->lang;
        Doc d;
        int r;

        r = doc_open(&d, c, false);
        if (r < 0)
                return r;
        (void) snprintf(name, sizeof(name), "%s %s", title, p->label);
        doc_begin(&d, title, name);
        doc_preamble(&d, c, p);
        doc_field(&d, tr(l, "件数", "Incidents"), fmt_int((int64_t) n, count));
        doc_fields_end(&d);

        doc_heading(&d, tr(l, "事故の一覧", "The incidents"));
        if (n == 0)
                doc_paragraph(&d, tr(l, "当該期間に情報セキュリティ事故はありません。",
                                     "No security incident in this period."),
                              false);
        else
                doc_table_begin(&d,
                                (const char *const[]) {
                                        tr(l, "番号", "No."), tr(l, "日時", "At"),
                                        tr(l, "現場", "Site"), tr(l, "機器", "Device"),
                                        tr(l, "種別", "Kind"), tr(l, "障害ID", "Fault"),
                                        tr(l, "障害の状態", "Fault state"),
                                        tr(l, "内容", "What happened"),
                                        tr(l, "通知日時", "Mailed at") },
                                9, "rllllrlll", true);
        for (size_t i = 0; i < n; i++) {
                char id[TIME_MAX], at[TIME_MAX], fault[TIME_MAX], mailed[TIME_MAX],
                        site[LABEL_MAX], dev[LABEL_MAX], kind[LABEL_MAX];

                if (v[i].fault_id > 0)
                        fmt_int(v[i].fault_id, fault);
                else
                        fault[0] = 0;
                (void) snprintf(kind, sizeof(kind), "%s (%s)", kind_word(l, v[i].kind),
                                v[i].kind);
                doc_row(&d, (const char *const[]) {
                                    fmt_int(v[i].id, id), fmt_time(v[i].at, at),
                                    site_label(c, v[i].site, site),
                                    device_label(l, v[i].device, dev), kind, fault,
                                    v[i].fault_state, v[i].text, fmt_time(v[i].mailed_at, mailed) });
        }
        if (n > 0)
                doc_table_end(&d);
        doc_paragraph(&d,
                      tr(l,
                         "情報セキュリティ事故の疑い（カメラの認証失敗、機種の不一致、他の現場の"
                         "ルーターの応答、SNMPv3 の認証失敗、機器の交換）は、検知した時点で"
                         "notify.security_to と当番の宛先にメールで直ちに通知しています"
                         "（別記1 第9条、別記2 第10条）。番号はイベントの番号です。",
                         "Suspected security incidents (a camera refusing the credentials, "
                         "another model, another site's router answering, an SNMPv3 "
                         "authentication failure, a swapped device) are mailed at once to "
                         "notify.security_to and the on-call addresses when found (Annex 1 "
                         "Art. 9, Annex 2 Art. 10). No. is the event's number."),
                      true);
        doc_zone_note(&d, c);
        doc_end(&d);
        return doc_close(&d, 0, ret);
}

static json_t *json_time(time_t t) {
        char b[ISO_DATETIME_MAX];

        return t > 0 ? json_string(format_iso_datetime(t, b)) : json_null();
}

int report_incidents_json(const ReportContext *c, const ReportPeriod *p,
                          const ReportIncident *v, size_t n, char **ret) {
        json_t *root, *list;
        char *s;

        (void) c;
        root = json_object();
        list = json_array();
        if (!root || !list) {
                json_decref(root);
                json_decref(list);
                return -ENOMEM;
        }
        (void) json_object_set_new(root, "from", json_time(p->from));
        (void) json_object_set_new(root, "to", json_time(p->to));
        (void) json_object_set_new(root, "incidents", list);
        for (size_t i = 0; i < n; i++) {
                json_t *o = json_object();

                if (!o || json_array_append_new(list, o) < 0) {
                        json_decref(root);
                        return -ENOMEM;
                }
                (void) json_object_set_new(o, "id", json_integer(v[i].id));
                (void) json_object_set_new(o, "at", json_time(v[i].at));
                (void) json_object_set_new(o, "site",
                                           v[i].site[0] ? json_string(v[i].site) : json_null());
                (void) json_object_set_new(o, "device", json_string(v[i].device));
                (void) json_object_set_new(o, "kind", json_string(v[i].kind));
                (void) json_object_set_new(o, "fault_id", v[i].fault_id > 0
                                                                  ? json_integer(v[i].fault_id)
                                                                  : json_null());
                (void) json_object_set_new(o, "fault_kind", v[i].fault_kind[0]
                                                                    ? json_string(v[i].fault_kind)
                                                                    : json_null());
                (void) json_object_set_new(o, "fault_state",
                                           v[i].fault_state[0] ? json_string(v[i].fault_state)
                                                               : json_null());
                (void) json_object_set_new(o, "text", json_string(v[i].text));
                (void) json_object_set_new(o, "mailed_at", json_time(v[i].mailed_at));
        }
        s = json_dumps(root, JSON_INDENT(2));
        json_decref(root);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* ======================================================================== */
/* Disposal (別記2 第12条) */

int report_disposal(const ReportContext *c, const ReportDisposal *x, char **ret) {
        const char *title = tr(c->lang, "データ廃棄（消去）報告書", "Data disposal report");
        char name[LABEL_MAX], at[TIME_MAX], id[TIME_MAX], who[LABEL_MAX];
        Language l = c->lang;
        Doc d;
        int r;

        r = doc_open(&d, c, true);
        if (r < 0)
                return r;
        (void) snprintf(name, sizeof(name), "%s %" PRId64, title, x->id);
        doc_begin(&d, title, name);
        doc_preamble(&d, c, NULL);
        doc_field(&d, tr(l, "廃棄記録番号", "Disposal record"), fmt_int(x->id, id));
        doc_field(&d, tr(l, "廃棄日時", "Erased at"), fmt_time(x->at, at));
        (void) snprintf(who, sizeof(who), tr(l, "%s（システムユーザー %s）", "%s (system user %s)"),
                        x->by, x->os_user);
        doc_field(&d, tr(l, "実施者", "Erased by"), who);
        doc_field(&d, tr(l, "状態データベース", "State database"), x->state_dir);
        doc_field(&d, tr(l, "認証情報ディレクトリ", "Credentials directory"),
                  x->credentials_dir);
        doc_fields_end(&d);

        doc_heading(&d, tr(l, "廃棄した情報", "What was erased"));
        doc_table_begin(&d, (const char *const[]) { tr(l, "対象", "Item"), tr(l, "件数", "Amount") },
                        2, "lr", false);
        for (size_t i = 0; i < x->n_items; i++)
                doc_row(&d, (const char *const[]) { x->items[2 * i], x->items[2 * i + 1] });
        doc_table_end(&d);

        doc_heading(&d, tr(l, "廃棄の方法", "How"));
        doc_table_begin(&d, (const char *const[]) { tr(l, "方法", "Method") }, 1, "l", false);
        for (size_t i = 0; i < x->n_methods; i++)
                doc_row(&d, (const char *const[]) { x->methods[i] });
        doc_table_end(&d);

        doc_paragraph(&d,
                      tr(l,
                         "契約の履行のために取り扱った情報のうち、個人に関する情報（氏名、"
                         "メモ、メールの本文と宛先）と機器の認証情報を、引継ぎ"
                         "（fieldwatchctl handover）の後に、上記の方法で上書きし削除しました"
                         "（別記1 第10条、別記2 第12条）。障害の時刻、種別、機器などの"
                         "記録は残しています。記憶装置そのものの消去・破壊は含みません。",
                         "Of the information handled for the contract, the personal data "
                         "(names, notes, mail bodies and recipients) and the devices' "
                         "credentials were overwritten and deleted as above after the "
                         "hand-over (fieldwatchctl handover) (Annex 1 Art. 10, Annex 2 Art. "
                         "12). The faults' times, kinds and devices remain. Erasing or "
                         "destroying the storage device itself is not part of it."),
                      false);
        doc_heading(&d, tr(l, "確認", "Confirmation"));
        doc_fields_begin(&d);
        doc_field(&d, tr(l, "受注者 確認者（署名）", "Contractor (signature)"), NULL);
        doc_field(&d, tr(l, "発注者 確認者（署名）", "City (signature)"), NULL);
        doc_field(&d, tr(l, "確認日", "Date"), NULL);
        doc_fields_end(&d);
        doc_zone_note(&d, c);
        doc_end(&d);
        return doc_close(&d, 0, ret);
}
