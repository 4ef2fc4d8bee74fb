/* SPDX-License-Identifier: MIT */

/* The report builders (issue 5) on records made here: periods, the
 * quarterly work report with and without work, CSV quoting and the BOM,
 * HTML and Markdown escaping, the business-hour overlaps of availability
 * across a weekend, holidays and the 17:00 edge, the response clock's
 * median and maximum, Japanese and English headings. The program runs
 * with TZ=America/New_York: every expectation is in contract time. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "calendar.h"
#include "config.h"
#include "macro.h"
#include "report.h"

static const char config_yaml[] =
        "contract: {name: \"街頭防犯カメラ保守\", start: 2025-12-01, end: 2031-11-30,"
        " timezone: Asia/Tokyo}\n"
        "sites:\n"
        "  - id: \"05\"\n"
        "    name: \"市川市真間1-12-4 市川センタービル（南向き）\"\n"
        "    mount: wall\n"
        "    tunnel: 5\n"
        "    router: {address: 127.0.1.5, port: 16161,"
        " snmp: {version: 2c, community_credential: snmp-community}}\n"
        "    camera: {address: 127.0.2.5, port: 18080, scheme: http, username: admin,"
        " password_credential: camera}\n"
        "  - id: \"07\"\n"
        "    name: \"市川市新田5-18-13 地先 コンビニ前\"\n"
        "    mount: spear_arm\n"
        "    tunnel: 7\n"
        "    router: {address: 127.0.1.7, port: 16161,"
        " snmp: {version: 2c, community_credential: snmp-community}}\n"
        "    camera: {address: 127.0.2.7, port: 18080, scheme: http, username: admin,"
        " password_credential: camera}\n";

static Config *config;
static Calendar *cal;

static int setup(void **state) {
        ConfigErrors errs = {};
        char *error = NULL;

        (void) state;
        if (tz_use("Asia/Tokyo") < 0)
                return -1;
        if (config_load_buffer("test.yaml", config_yaml, sizeof(config_yaml) - 1, &errs,
                               &config) < 0) {
                for (size_t i = 0; i < errs.n_errors; i++)
                        print_error("%u:%u: %s\n", errs.errors[i].line, errs.errors[i].column,
                                    errs.errors[i].message);
                config_errors_clear(&errs);
                return -1;
        }
        if (calendar_new(&config->calendar, ".", &cal, &error) < 0) {
                free(error);
                return -1;
        }
        return 0;
}

static int teardown(void **state) {
        (void) state;
        cal = calendar_free(cal);
        config = config_free(config);
        return 0;
}

static time_t T(const char *s) {
        time_t t = 0;

        assert_int_equal(parse_iso_datetime(s, &t), 0);
        return t;
}

static Day D(const char *s) {
        Day d = 0;

        assert_int_equal(parse_iso_date(s, &d), 0);
        return d;
}

static ReportContext ctx(ReportFormat format, Language lang, const char *now) {
        return (ReportContext) {
                .config = config, .cal = cal, .lang = lang, .format = format, .now = T(now),
        };
}

static ReportPeriod quarter(const char *s) {
        ReportPeriod p;

        assert_int_equal(report_quarter_parse(s, &config->contract, &p), 0);
        return p;
}

static ReportPeriod month(const char *s) {
        ReportPeriod p;

        assert_int_equal(report_month_parse(s, &config->contract, &p), 0);
        return p;
}

#define assert_contains(hay, needle)                                                        \
        do {                                                                                \
                if (!strstr((hay), (needle))) {                                             \
                        fprintf(stderr, "%s\n--- does not contain ---\n%s\n", (hay), (needle)); \
                        fail();                                                             \
                }                                                                           \
        } while (0)

#define assert_not_contains(hay, needle)                                                    \
        do {                                                                                \
                if (strstr((hay), (needle))) {                                              \
                        fprintf(stderr, "%s\n--- contains ---\n%s\n", (hay), (needle));     \
                        fail();                                                             \
                }                                                                           \
        } while (0)

/* ======================================================================== */

static void test_periods(void **state) {
        ReportPeriod p;

        (void) state;
        p = quarter("2026Q3");
        assert_int_equal(p.first, D("2026-07-01"));
        assert_int_equal(p.last, D("2026-09-30"));
        assert_int_equal(p.from, T("2026-07-01T00:00"));
        assert_int_equal(p.to, T("2026-10-01T00:00"));
        assert_string_equal(p.label, "2026Q3");
        p = quarter("2026q1");
        assert_int_equal(p.first, D("2026-01-01"));
        assert_int_equal(p.last, D("2026-03-31"));
        assert_string_equal(p.label, "2026Q1");
        /* Clipped to the contract, 2025-12-01 .. 2031-11-30. */
        p = quarter("2025Q4");
        assert_int_equal(p.first, D("2025-12-01"));
        assert_int_equal(p.last, D("2025-12-31"));
        p = quarter("2031Q4");
        assert_int_equal(p.first, D("2031-10-01"));
        assert_int_equal(p.last, D("2031-11-30"));
        assert_int_equal(report_quarter_parse("2025Q3", &config->contract, &p), -ERANGE);
        assert_int_equal(report_quarter_parse("2032Q1", &config->contract, &p), -ERANGE);
        /* Without a contract nothing is clipped. */
        assert_int_equal(report_quarter_parse("2025Q3", NULL, &p), 0);
        assert_int_equal(p.first, D("2025-07-01"));
        for (size_t i = 0; i < 8; i++) {
                static const char *const bad[] = { "2026Q5", "2026Q0", "26Q1",    "2026-Q1",
                                                   "2026Q3x", "",      "2026Q", "20x6Q1" };

                assert_int_equal(report_quarter_parse(bad[i], NULL, &p), -EINVAL);
        }

        p = month("2026-10");
        assert_int_equal(p.from, T("2026-10-01T00:00"));
        assert_int_equal(p.to, T("2026-11-01T00:00"));
        p = month("2025-12");
        assert_int_equal(p.first, D("2025-12-01"));
        assert_int_equal(report_month_parse("2025-11", &config->contract, &p), -ERANGE);
        assert_int_equal(report_month_parse("2026-13", NULL, &p), -EINVAL);
        assert_int_equal(report_month_parse("2026-1", NULL, &p), -EINVAL);
        assert_int_equal(report_month_parse("2026/10", NULL, &p), -EINVAL);

        /* Cut at now: not begun, running, over. */
        p = month("2026-11");
        assert_int_equal(report_period_clip(&p, T("2026-11-01T00:00")), -ERANGE);
        assert_false(p.partial);
        assert_int_equal(report_period_clip(&p, T("2026-11-25T12:00")), 0);
        assert_true(p.partial);
        assert_int_equal(p.to, T("2026-11-25T12:00"));
        p = month("2026-10");
        assert_int_equal(report_period_clip(&p, T("2026-11-25T12:00")), 0);
        assert_false(p.partial);
        assert_int_equal(p.to, T("2026-11-01T00:00"));
}

/* ======================================================================== */

static ReportWork work_item(const char *start, const char *end, const char *person,
                            const char *title, const char *content, const char *notes) {
        return (ReportWork) {
                .start_at = T(start),
                .end_at = T(end),
                .person = (char *) person,
                .title = (char *) title,
                .content = (char *) content,
                .notes = (char *) notes,
        };
}

static void test_quarterly_with_work(void **state) {
        ReportContext c = ctx(REPORT_FORMAT_MD, LANGUAGE_JA, "2026-10-02T10:00");
        ReportPeriod p = quarter("2026Q3");
        ReportWork w[] = {
                work_item("2026-07-10T10:00", "2026-07-10T11:30", "鈴木 一郎", "定期点検",
                          "全27箇所の外観点検", "異常なし"),
                work_item("2026-09-16T13:00", "2026-09-16T14:00", "山田 太郎", "予防交換",
                          "05番カメラのSDカードを交換", ""),
        };
        ReportFault f = {
                .id = 3, .site = "05", .device = "05-camera", .kind = "camera_down",
                .severity = FAULT_DOWN, .detected_at = T("2026-09-30T16:00"),
                .received_at = T("2026-09-30T16:00"), .onsite_due = T("2026-09-30T18:00"),
        };
        char *doc = NULL;

        (void) state;
        w[1].fault_id = 3;
        assert_int_equal(report_quarterly(&c, &p, w, 2, &f, 1, NULL, 0, &doc), 0);
        assert_contains(doc, "# 作業実績報告書\n");
        assert_contains(doc, "| 契約名 | 街頭防犯カメラ保守 |");
        assert_contains(doc, "| 対象期間 | 2026-07-01 〜 2026-09-30 |");
        assert_contains(doc, "| 提出期限 | 2026-10-15 |");
        assert_contains(doc,
                        "| No. | 開始日時 | 終了日時 | 作業時間 | 担当者名 | 作業名 | 作業内容 |"
                        " 特記事項 | 障害番号 |");
        assert_contains(doc,
                        "| 1 | 2026-07-10 10:00 | 2026-07-10 11:30 | 1:30 | 鈴木 一郎 | 定期点検 |"
                        " 全27箇所の外観点検 | 異常なし | — |");
        assert_contains(doc,
                        "| 2 | 2026-09-16 13:00 | 2026-09-16 14:00 | 1:00 | 山田 太郎 | 予防交換 |"
                        " 05番カメラのSDカードを交換 | — | 3 |");
        assert_contains(doc, "作業時間合計: 2:30（2件）");
        assert_contains(doc, "| 3 | 05 市川市真間1-12-4 市川センタービル（南向き） | 05-camera |"
                             " カメラ応答なし | 2026-09-30 16:00 | 2026-09-30 16:00 | — | — |");
        assert_not_contains(doc, "作業実績はありません");
        assert_not_contains(doc, "障害はありません");
        free(doc);

        /* The CSV has every section: the fields, the work and the faults (the
         * fault table padded to the work table's nine columns). */
        c.format = REPORT_FORMAT_CSV;
        assert_int_equal(report_quarterly(&c, &p, w, 2, &f, 1, NULL, 0, &doc), 0);
        assert_contains(doc, "\r\n提出期限,2026-10-15,,,,,,,\r\n");
        assert_contains(doc, "\r\n2,2026-09-16 13:00,2026-09-16 14:00,1:00,山田 太郎,予防交換,"
                             "05番カメラのSDカードを交換,,3\r\n");
        assert_contains(doc, "\r\n障害対応,,,,,,,,\r\n"
                             "障害番号,現場,機器,種別,検知日時,受付日時,現地着手日時,復旧日時,\r\n"
                             "3,05 市川市真間1-12-4 市川センタービル（南向き）,05-camera,"
                             "カメラ応答なし,2026-09-30 16:00,2026-09-30 16:00,,,\r\n");
        free(doc);
}

static void test_quarterly_without_work(void **state) {
        ReportPeriod p = quarter("2026Q2");
        ReportContext c;
        char *doc = NULL;

        (void) state;
        /* A fault of another quarter is not listed. */
        ReportFault f = {
                .id = 1, .site = "05", .device = "05-camera", .kind = "camera_down",
                .detected_at = T("2026-09-30T16:00"), .received_at = T("2026-09-30T16:00"),
        };

        c = ctx(REPORT_FORMAT_MD, LANGUAGE_JA, "2026-07-01T10:00");
        assert_int_equal(report_quarterly(&c, &p, NULL, 0, &f, 1, NULL, 0, &doc), 0);
        assert_contains(doc, "## 作業実績\n\n当該期間の作業実績はありません。\n");
        assert_contains(doc, "当該期間の障害はありません。");
        assert_contains(doc, "| 提出期限 | 2026-07-15 |");
        assert_not_contains(doc, "| No. |");
        free(doc);

        /* Onsite work begun in the quarter, its recovery not recorded (parts
         * on order): in progress, not "no work". */
        ReportFault g = {
                .id = 2, .site = "05", .device = "05-camera", .kind = "camera_down",
                .detected_at = T("2026-06-29T10:00"), .received_at = T("2026-06-29T10:00"),
                .onsite_started_at = T("2026-06-29T11:00"), .onsite_by = "山田 太郎",
        };
        assert_int_equal(report_quarterly(&c, &p, NULL, 0, &g, 1, NULL, 0, &doc), 0);
        assert_not_contains(doc, "作業実績はありません");
        assert_contains(doc, "| 1 | 2026-06-29 11:00 | 対応中 | — | 山田 太郎 |"
                             " 障害対応（カメラ応答なし、対応中） | — |"
                             " 復旧の記録後に作業時間を計上 | 2 |");
        assert_contains(doc, "対応中の障害対応: 1件");
        free(doc);
        /* Its provisional recovery recorded work: that row speaks for it. */
        ReportWork done = work_item("2026-06-29T11:00", "2026-06-29T12:00", "山田 太郎",
                                    "障害対応（カメラ応答なし、暫定復旧）", "", "");
        done.fault_id = 2;
        g.temporary_recovered_at = T("2026-06-29T12:00");
        assert_int_equal(report_quarterly(&c, &p, &done, 1, &g, 1, NULL, 0, &doc), 0);
        assert_not_contains(doc, "対応中 |");
        assert_contains(doc, "作業時間合計: 1:00（1件）");
        free(doc);

        c = ctx(REPORT_FORMAT_HTML, LANGUAGE_EN, "2026-07-01T10:00");
        assert_int_equal(report_quarterly(&c, &p, NULL, 0, NULL, 0, NULL, 0, &doc), 0);
        assert_contains(doc, "<p>There was no work in this period.</p>");
        assert_contains(doc, "<p>There were no faults in this period.</p>");
        free(doc);

        /* CSV: every section under its heading, nine columns wide (issue 13: the
         * CSV drops no section); no work is said as in the other formats. */
        c = ctx(REPORT_FORMAT_CSV, LANGUAGE_JA, "2026-07-01T10:00");
        assert_int_equal(report_quarterly(&c, &p, NULL, 0, NULL, 0, NULL, 0, &doc), 0);
        assert_string_equal(doc, "\xEF\xBB\xBF作業実績報告書,,,,,,,,\r\n"
                                 "契約名,街頭防犯カメラ保守,,,,,,,\r\n"
                                 "四半期,令和8年度 第1四半期（4月～6月）,,,,,,,\r\n"
                                 "対象期間,2026-04-01 〜 2026-06-30,,,,,,,\r\n"
                                 "作成日時,2026-07-01 10:00,,,,,,,\r\n"
                                 "提出期限,2026-07-15,,,,,,,\r\n"
                                 "作業実績,,,,,,,,\r\n"
                                 "当該期間の作業実績はありません。,,,,,,,,\r\n"
                                 "障害対応,,,,,,,,\r\n"
                                 "当該期間の障害はありません。,,,,,,,,\r\n"
                                 "異常の調査,,,,,,,,\r\n"
                                 "当該期間に調査した異常はありません。,,,,,,,,\r\n"
                                 "時刻は契約の時間帯（Asia/Tokyo）で表示しています。,,,,,,,,\r\n");
        free(doc);
}

/* The anomalies investigated (L107-111) are listed, with their escalation. */
static void test_quarterly_investigations(void **state) {
        ReportContext c = ctx(REPORT_FORMAT_MD, LANGUAGE_JA, "2026-10-02T10:00");
        ReportPeriod p = quarter("2026Q3");
        Investigation v[2] = {
                { .id = 1, .anomaly_id = 17, .at = T("2026-09-10T10:00"), .person = "山田 太郎",
                  .note = "LTE電波の瞬断を確認", .device = "05-camera" },
                { .id = 2, .anomaly_id = 18, .fault_id = 9, .at = T("2026-09-11T14:00"),
                  .person = "鈴木", .note = "再現した: 電源ユニット不良", .device = "06-router" },
        };
        char *doc = NULL;

        (void) state;
        assert_int_equal(report_quarterly(&c, &p, NULL, 0, NULL, 0, v, 2, &doc), 0);
        assert_contains(doc, "## 異常の調査\n");
        assert_contains(doc, "| 2026-09-10 10:00 | 17 |");
        assert_contains(doc, "| 山田 太郎 | LTE電波の瞬断を確認 | なし |");
        assert_contains(doc, "| 鈴木 | 再現した: 電源ユニット不良 | 障害 9 |");
        assert_not_contains(doc, "当該期間に調査した異常はありません。");
        free(doc);
        c = ctx(REPORT_FORMAT_CSV, LANGUAGE_EN, "2026-10-02T10:00");
        assert_int_equal(report_quarterly(&c, &p, NULL, 0, NULL, 0, v, 2, &doc), 0);
        assert_contains(doc, "Anomalies investigated,,,,,,,,\r\n");
        assert_contains(doc, ",18,");
        assert_contains(doc, ",fault 9,");
        free(doc);
}

static void test_csv_quoting(void **state) {
        ReportContext c = ctx(REPORT_FORMAT_CSV, LANGUAGE_EN, "2026-10-02T10:00");
        ReportPeriod p = quarter("2026Q3");
        ReportWork w[] = {
                work_item("2026-09-17T10:40", "2026-09-17T11:20", "Yamada, Taro", "点検",
                          "say \"hi\", ok", "line1\nline2"),
                work_item("2026-09-18T09:00", "2026-09-18T09:15", "鈴木", "plain", "a;b", "x\r"),
        };
        const char *rows;
        char *doc = NULL;

        (void) state;
        assert_int_equal(report_quarterly(&c, &p, w, 2, NULL, 0, NULL, 0, &doc), 0);
        /* The BOM, then the header: English columns. */
        assert_memory_equal(doc, "\xEF\xBB\xBF", 3);
        rows = doc + 3;
        assert_contains(rows,
                        "\r\nWork done,,,,,,,,\r\n"
                        "No.,Start,End,Hours,Person in charge,Work,Content,Notes,Fault\r\n"
                        "1,2026-09-17 10:40,2026-09-17 11:20,0:40,\"Yamada, Taro\",点検,"
                        "\"say \"\"hi\"\", ok\",\"line1\nline2\",\r\n"
                        "2,2026-09-18 09:00,2026-09-18 09:15,0:15,鈴木,plain,a;b,"
                        "\"x\r\",\r\n"
                        "Total work time: 0:55 (2 items),,,,,,,,\r\n"
                        "Faults handled,,,,,,,,\r\n"
                        "There were no faults in this period.,,,,,,,,\r\n"
                        "Anomalies investigated,,,,,,,,\r\n"
                        "No anomaly was investigated in this period.,,,,,,,,\r\n"
                        "Times are contract time (Asia/Tokyo).,,,,,,,,\r\n");
        /* Text, not markup: no Markdown heading, no HTML. */
        assert_not_contains(doc, "#");
        assert_not_contains(doc, "<");
        free(doc);
}

static ReportFault recovered_fault(void) {
        static char *parts[] = { (char *) "WV-SDB128G" };

        return (ReportFault) {
                .id = 12, .site = "05", .device = "05-camera", .kind = "recording_stopped",
                .severity = FAULT_DEGRADED, .state = FAULT_CLEARED,
                .detected_at = T("2026-09-16T16:30"), .received_at = T("2026-09-16T16:30"),
                .onsite_due = T("2026-09-16T18:30"), .deferral_eligible = true,
                .deferred_onsite_due = T("2026-09-17T11:00"),
                .acknowledged_at = T("2026-09-16T16:35"),
                .deferral_approved_at = T("2026-09-16T16:45"),
                .onsite_started_at = T("2026-09-17T10:40"), .cleared_at = T("2026-09-17T11:30"),
                .reason = (char *) "recording stopped: <DataUntil> lags 2h",
                .hint = (char *) "",
                .acknowledged_by = (char *) "山田 太郎", .onsite_by = (char *) "山田 太郎",
                .deferral_approved_by = (char *) "監督員 佐藤",
                .deferral_reason = (char *) "部品の手配",
                .recovered_at = T("2026-09-17T11:20"), .recovered_by = (char *) "山田 太郎",
                .cause = (char *) "microSDカードの故障",
                .action = (char *) "WV-SDB128Gを交換し録画を再開",
                .prevention = (char *) "年次点検でSDカードの状態を確認",
                .parts = parts, .n_parts = 1, .media_replaced = true,
                .recovery_report_submitted_at = T("2026-09-25T15:00"),
        };
}

static void test_html_escaping(void **state) {
        ReportContext c = ctx(REPORT_FORMAT_HTML, LANGUAGE_JA, "2026-10-02T10:00");
        ReportPeriod p = quarter("2026Q3");
        ReportWork w = work_item("2026-09-17T10:40", "2026-09-17T11:20", "O'Brien & \"Co\"",
                                 "<b>点検</b>", "<script>alert('x')</script>", "a\nb");
        ReportFault f = recovered_fault();
        size_t len;
        char *doc = NULL;

        (void) state;
        assert_int_equal(report_quarterly(&c, &p, &w, 1, &f, 1, NULL, 0, &doc), 0);
        assert_true(strncmp(doc, "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n", 40) == 0);
        assert_contains(doc, "<meta charset=\"utf-8\">");
        assert_contains(doc, "@page { size: A4; margin: 15mm }");
        assert_contains(doc, "border: 1px solid #000");
        assert_contains(doc, "\"Noto Sans CJK JP\"");
        assert_contains(doc, "<title>作業実績報告書 2026Q3</title>");
        assert_contains(doc, "<td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</td>");
        assert_contains(doc, "<td>O&#39;Brien &amp; &quot;Co&quot;</td>");
        assert_contains(doc, "<td>&lt;b&gt;点検&lt;/b&gt;</td>");
        assert_contains(doc, "<td>a\nb</td>");
        assert_not_contains(doc, "<script>");
        assert_not_contains(doc, "<b>");
        len = strlen(doc);
        assert_true(len > 16);
        assert_string_equal(doc + len - 16, "</body>\n</html>\n");
        free(doc);

        /* The fault report escapes the probe's reason too. */
        assert_int_equal(report_fault(&c, &f, &doc), 0);
        assert_contains(doc, "recording stopped: &lt;DataUntil&gt; lags 2h");
        assert_not_contains(doc, "<DataUntil>");
        free(doc);

        /* Markdown: the cell separator, inline markup and HTML are neutralised. */
        c.format = REPORT_FORMAT_MD;
        w.content = (char *) "a|b *c* <i>d</i>\ne";
        assert_int_equal(report_quarterly(&c, &p, &w, 1, NULL, 0, NULL, 0, &doc), 0);
        assert_contains(doc, "| a\\|b \\*c\\* &lt;i&gt;d&lt;/i&gt;<br>e |");
        free(doc);
}

/* ======================================================================== */

/* The business seconds of [from, to). */
static int64_t B(const char *from, const char *to) {
        return report_business_seconds(cal, T(from), T(to));
}

static void test_business_seconds(void **state) {
        (void) state;
        /* Friday 16:00 → Thursday 10:00 across the weekend and Silver Week
         * (9/21 敬老の日, 9/22 国民の休日, 9/23 秋分の日): 1 h + 1 h. */
        assert_int_equal(B("2026-09-18T16:00", "2026-09-24T10:00"), 2 * 3600);
        /* The 17:00 edge: closing is outside the window, opening inside. */
        assert_int_equal(B("2026-09-16T17:00", "2026-09-16T18:00"), 0);
        assert_int_equal(B("2026-09-16T16:59:59", "2026-09-16T17:00:01"), 1);
        assert_int_equal(B("2026-09-16T08:00", "2026-09-16T09:00"), 0);
        assert_int_equal(B("2026-09-16T08:59:30", "2026-09-16T09:00:30"), 30);
        /* A whole business day, and a whole week (5 × 8 h). */
        assert_int_equal(B("2026-09-16T00:00", "2026-09-17T00:00"), 8 * 3600);
        assert_int_equal(B("2026-11-30T00:00", "2026-12-07T00:00"), 40 * 3600);
        /* The year-end closure, 12-29..01-03: Monday 12-28 16:00 → 2027-01-05 10:00. */
        assert_int_equal(B("2026-12-28T16:00", "2027-01-05T10:00"), 10 * 3600);
        /* Empty and reversed spans. */
        assert_int_equal(B("2026-09-16T10:00", "2026-09-16T10:00"), 0);
        assert_int_equal(B("2026-09-16T11:00", "2026-09-16T10:00"), 0);
}

static ReportFault span_fault(int64_t id, const char *device, FaultSeverity sev, const char *from,
                              const char *to) {
        ReportFault f = {
                .id = id, .kind = "camera_down", .severity = sev,
                .state = to ? FAULT_CLEARED : FAULT_OPEN, .detected_at = T(from),
                .received_at = T(from), .cleared_at = to ? T(to) : 0,
        };

        (void) snprintf(f.device, sizeof(f.device), "%s", device);
        (void) snprintf(f.site, sizeof(f.site), "%.2s", device);
        return f;
}

static const Downtime *find_dt(const Downtime *v, size_t n, const char *device) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i].device, device))
                        return &v[i];
        fail_msg("no downtime row for %s", device);
        return NULL;
}

static void test_availability(void **state) {
        ReportContext c = ctx(REPORT_FORMAT_CSV, LANGUAGE_JA, "2026-10-05T10:00");
        ReportPeriod p = month("2026-09");
        char *hidden[] = { (char *) "05-camera" };
        ReportFault f[5];
        Downtime *dt = NULL;
        const Downtime *x;
        size_t n = 0;
        char *doc = NULL;

        (void) state;
        /* The camera degraded Friday noon → Thursday noon; its router down Friday
         * 16:30 → Thursday 09:30 (the camera unreachable, hidden); the camera's own
         * down fault Thursday 09:00 → 10:00 overlaps the router's. */
        f[0] = span_fault(1, "05-camera", FAULT_DEGRADED, "2026-09-18T12:00", "2026-09-24T12:00");
        f[1] = span_fault(2, "05-router", FAULT_DOWN, "2026-09-18T16:30", "2026-09-24T09:30");
        f[1].hidden = hidden;
        f[1].n_hidden = 1;
        f[2] = span_fault(3, "05-camera", FAULT_DOWN, "2026-09-24T09:00", "2026-09-24T10:00");
        /* Still open at the month's end: counted to its end. */
        f[3] = span_fault(4, "07-camera", FAULT_DOWN, "2026-09-30T16:00", NULL);
        /* Began in August: only September counts. */
        f[4] = span_fault(5, "07-router", FAULT_DOWN, "2026-08-31T20:00", "2026-09-01T10:00");

        assert_int_equal(report_downtime(&c, &p, f, ELEMENTSOF(f), &dt, &n), 0);
        /* No VPN configured: two sites × tunnel, router, camera, in config order. */
        assert_int_equal(n, 6);
        assert_string_equal(dt[0].device, "05-tunnel");
        assert_string_equal(dt[5].device, "07-camera");
        assert_string_equal(dt[2].site, "05");

        x = find_dt(dt, n, "05-camera");
        /* Down: [18 16:30, 24 10:00) = 137.5 h; business: Fri 16:30–17:00 + Thu 09:00–10:00. */
        assert_int_equal(x->down, 137 * 3600 + 1800);
        assert_int_equal(x->down_business, 3600 + 1800);
        /* Degraded and not down: [18 12:00, 18 16:30) + [24 10:00, 24 12:00) = 6.5 h. */
        assert_int_equal(x->degraded, 6 * 3600 + 1800);
        assert_int_equal(x->degraded_business, 6 * 3600 + 1800);

        x = find_dt(dt, n, "05-router");
        assert_int_equal(x->down, 137 * 3600);
        assert_int_equal(x->down_business, 3600);
        assert_int_equal(x->degraded, 0);

        x = find_dt(dt, n, "07-camera");
        assert_int_equal(x->down, 8 * 3600);
        assert_int_equal(x->down_business, 3600);
        x = find_dt(dt, n, "07-router");
        assert_int_equal(x->down, 10 * 3600);
        assert_int_equal(x->down_business, 3600);
        x = find_dt(dt, n, "05-tunnel");
        assert_int_equal(x->down + x->degraded + x->down_business + x->degraded_business, 0);
        free(dt);

        /* The CSV row: 720 h and 152 business hours in September 2026. */
        assert_int_equal(report_availability(&c, &p, f, ELEMENTSOF(f), &doc), 0);
        assert_memory_equal(doc, "\xEF\xBB\xBF現場,設置場所,機器,停止,機能低下,稼働率(%),",
                            strlen("\xEF\xBB\xBF現場,設置場所,機器,停止,機能低下,稼働率(%),"));
        assert_contains(doc, "\r\n05,市川市真間1-12-4 市川センタービル（南向き）,05-camera,"
                             "137:30:00,6:30:00,80.90,1:30:00,6:30:00,99.01\r\n");
        assert_contains(doc, "\r\n05,市川市真間1-12-4 市川センタービル（南向き）,05-tunnel,"
                             "0:00:00,0:00:00,100.00,0:00:00,0:00:00,100.00\r\n");
        free(doc);

        c.format = REPORT_FORMAT_MD;
        assert_int_equal(report_availability(&c, &p, f, ELEMENTSOF(f), &doc), 0);
        assert_contains(doc, "| 対象時間（全時間） | 720:00:00 |");
        assert_contains(doc, "| 対象時間（業務時間） | 152:00:00 |");
        free(doc);
}

/* ======================================================================== */

static ReportFault sla_fault(int64_t id, const char *received, int64_t onsite_after) {
        ReportFault f = {
                .id = id, .site = "05", .device = "05-camera", .kind = "camera_down",
                .state = FAULT_OPEN, .detected_at = T(received), .received_at = T(received),
        };

        f.onsite_due = f.received_at + 7200;
        if (onsite_after >= 0)
                f.onsite_started_at = f.received_at + onsite_after;
        return f;
}

static void test_sla(void **state) {
        ReportContext c = ctx(REPORT_FORMAT_MD, LANGUAGE_JA, "2026-09-30T17:00");
        ReportPeriod p = quarter("2026Q3");
        ReportFault f[9];
        SlaStats s;
        char *doc = NULL;

        (void) state;
        f[0] = sla_fault(1, "2026-08-31T10:00", 600);
        f[0].recovered_at = T("2026-09-01T12:00");           /* due 09-15 */
        f[0].recovery_report_submitted_at = T("2026-09-10T10:00");
        f[1] = sla_fault(2, "2026-09-01T10:00", 1800);
        f[1].recovered_at = T("2026-09-01T12:00");
        f[1].media_replaced = true;                          /* erasure due 09-08 */
        f[1].erasure_report_submitted_at = T("2026-09-09T10:00");
        f[2] = sla_fault(3, "2026-09-02T10:00", 7200);       /* at the due time: met */
        f[2].recovered_at = T("2026-09-28T12:00");           /* due 10-12 (a holiday) */
        f[3] = sla_fault(4, "2026-09-03T10:00", 9000);       /* late */
        f[4] = sla_fault(5, "2026-09-04T10:00", -1);         /* transient, cleared in time */
        f[4].transient = true;
        f[4].state = FAULT_CLEARED;
        f[4].cleared_at = f[4].received_at + 1200;
        f[5] = sla_fault(6, "2026-09-29T10:00", -1);         /* no onsite, due passed */
        f[6] = sla_fault(7, "2026-09-16T16:30", 18 * 3600);  /* deferred to 11:00, met */
        f[6].deferral_eligible = true;
        f[6].deferred_onsite_due = T("2026-09-17T11:00");
        f[6].deferral_approved_at = T("2026-09-16T16:45");
        f[7] = sla_fault(8, "2026-10-01T09:00", 600);        /* another quarter */
        f[8] = sla_fault(9, "2026-09-30T16:30", -1);         /* due 18:30: pending */

        assert_int_equal(report_sla_stats(&c, &p, f, ELEMENTSOF(f), &s), 0);
        assert_int_equal(s.received, 8);
        assert_int_equal(s.onsite, 5);
        /* 600, 1800, 7200, 9000, 64800 */
        assert_int_equal(s.response_median, 7200);
        assert_int_equal(s.response_max, 18 * 3600);
        assert_int_equal(s.met, 4);
        assert_int_equal(s.breached, 2);
        assert_int_equal(s.pending, 1);
        assert_int_equal(s.stopped, 1);
        assert_int_equal(s.deferred, 1);
        assert_int_equal(s.transient, 1);
        assert_int_equal(s.reports_on_time, 1);
        assert_int_equal(s.reports_late, 1);
        assert_int_equal(s.reports_outstanding, 2);
        assert_int_equal(s.reports_overdue, 1);

        /* An even count: the mean of the two middle values. */
        assert_int_equal(report_sla_stats(&c, &p, f + 1, 2, &s), 0);
        assert_int_equal(s.response_median, (1800 + 7200) / 2);
        assert_int_equal(s.response_max, 7200);
        /* None with onsite work. */
        assert_int_equal(report_sla_stats(&c, &p, f + 4, 2, &s), 0);
        assert_int_equal(s.response_median, -1);
        assert_int_equal(s.response_max, -1);

        assert_int_equal(report_sla(&c, &p, f, ELEMENTSOF(f), &doc), 0);
        assert_contains(doc, "| 応答時間（中央値） | 2:00:00 |");
        assert_contains(doc, "| 応答時間（最大） | 18:00:00 |");
        assert_contains(doc, "| 7 | 05 | 05-camera | カメラ応答なし | 2026-09-16 16:30 |"
                             " 2026-09-17 11:00 | 2026-09-17 10:30 | 18:00:00 | 期限内 |"
                             " 2026-09-16 16:45 |");
        assert_not_contains(doc, "| 8 | 05 |");
        free(doc);

        c.format = REPORT_FORMAT_CSV;
        c.lang = LANGUAGE_EN;
        assert_int_equal(report_sla(&c, &p, f, ELEMENTSOF(f), &doc), 0);
        assert_contains(doc, "\xEF\xBB\xBF" "Field,Value\r\nContract,街頭防犯カメラ保守\r\n");
        assert_contains(doc, "\r\nResponse time (median),2:00:00\r\n");
        assert_contains(doc, "\r\nBreached,2\r\n");
        assert_not_contains(doc, "By fault");
        free(doc);
}

/* ======================================================================== */

static void test_fault_report(void **state) {
        ReportContext c = ctx(REPORT_FORMAT_MD, LANGUAGE_JA, "2026-09-18T10:00");
        ReportFault f = recovered_fault();
        char *doc = NULL;

        (void) state;
        assert_int_equal(report_fault(&c, &f, &doc), 0);
        assert_contains(doc, "# 障害復旧作業報告書\n");
        assert_contains(doc, "| 現場 | 05 市川市真間1-12-4 市川センタービル（南向き） |");
        assert_contains(doc, "| 機器 | カメラ（05-camera） |");
        assert_contains(doc, "| 障害種別 | 録画停止（recording\\_stopped） |");
        assert_contains(doc, "| 延期の承認者 | 監督員 佐藤 |");
        assert_contains(doc, "| 延期後の現地着手期限 | 2026-09-17 11:00 |");
        assert_contains(doc, "| 現地作業開始日時 | 2026-09-17 10:40 |");
        assert_contains(doc, "| 現地着手期限の遵守 | 期限内 |");
        assert_contains(doc, "| 復旧日時 | 2026-09-17 11:20 |");
        assert_contains(doc, "| 障害発生原因 | microSDカードの故障 |");
        assert_contains(doc, "| 対処作業の結果 | WV-SDB128Gを交換し録画を再開 |");
        assert_contains(doc, "| 再発防止策 | 年次点検でSDカードの状態を確認 |");
        assert_contains(doc, "| 交換部品 | WV-SDB128G |");
        assert_contains(doc, "| 受付確認者 | 山田 太郎（2026-09-16 16:35） |");
        /* Recovered 09-17 + 14 days. */
        assert_contains(doc, "| 提出期限 | 2026-10-01 |");
        assert_contains(doc, "| 提出日時 | 2026-09-25 15:00 |");
        free(doc);

        c.lang = LANGUAGE_EN;
        f.onsite_started_at = T("2026-09-17T11:25");
        assert_int_equal(report_fault(&c, &f, &doc), 0);
        assert_contains(doc, "# Fault recovery report (障害復旧作業報告書)\n");
        assert_contains(doc, "| Cause | microSDカードの故障 |");
        assert_contains(doc, "| Action taken and result |");
        assert_contains(doc, "| Prevention |");
        assert_contains(doc, "| Onsite due met | missed (late by 0:25:00) |");
        free(doc);

        /* CSV: one field,value table with every section's fields. */
        c.format = REPORT_FORMAT_CSV;
        c.lang = LANGUAGE_JA;
        assert_int_equal(report_fault(&c, &f, &doc), 0);
        assert_memory_equal(doc, "\xEF\xBB\xBF項目,内容\r\n障害番号,12\r\n",
                            strlen("\xEF\xBB\xBF項目,内容\r\n障害番号,12\r\n"));
        assert_contains(doc, "\r\n障害発生原因,microSDカードの故障\r\n");
        assert_contains(doc, "\r\n提出期限,2026-10-01\r\n");
        assert_not_contains(doc, "##");
        free(doc);

        doc = NULL;
        f.recovered_at = 0;
        assert_int_equal(report_fault(&c, &f, &doc), -ENODATA);
        assert_null(doc);
}

static void test_erasure_report(void **state) {
        ReportContext c = ctx(REPORT_FORMAT_HTML, LANGUAGE_JA, "2026-09-18T10:00");
        ReportFault f = recovered_fault();
        char *doc = NULL;

        (void) state;
        assert_int_equal(report_erasure(&c, &f, &doc), 0);
        assert_contains(doc, "<h1>データ消去報告書</h1>");
        assert_contains(doc, "<tr><th scope=\"row\">情報記録媒体</th><td>WV-SDB128G</td></tr>");
        assert_contains(doc, "<tr><th scope=\"row\">障害復旧作業日</th><td>2026-09-17</td></tr>");
        assert_contains(doc, "<h2>立会者（発注者職員）</h2>");
        assert_contains(doc, "<tr><th scope=\"row\">氏名</th><td class=\"blank\"></td></tr>");
        assert_contains(doc,
                        "<tr><th scope=\"row\">署名又は印</th><td class=\"blank\"></td></tr>");
        /* Recovered 09-17 + 7 days = 09-24 (a business day). */
        assert_contains(doc, "<tr><th scope=\"row\">提出期限</th><td>2026-09-24</td></tr>");
        free(doc);

        /* Without parts listed the medium is the camera's SD card; a due day that
         * is a holiday (09-23 秋分の日) is delivered the business day before. */
        c.format = REPORT_FORMAT_MD;
        c.lang = LANGUAGE_EN;
        f.n_parts = 0;
        f.recovered_at = T("2026-09-16T11:00");
        assert_int_equal(report_erasure(&c, &f, &doc), 0);
        assert_contains(doc, "# Data erasure report (データ消去報告書)\n");
        assert_contains(doc, "| Storage medium | WV-SDB128G |");
        assert_contains(doc,
                        "| Due | 2026-09-23 (deliver by 2026-09-18, the business day before) |");
        assert_contains(doc, "| Name | ＿＿＿＿＿＿＿＿＿＿ |");
        free(doc);

        doc = NULL;
        f.media_replaced = false;
        assert_int_equal(report_erasure(&c, &f, &doc), -ENOMEDIUM);
        f.media_replaced = true;
        f.recovered_at = 0;
        assert_int_equal(report_erasure(&c, &f, &doc), -ENODATA);
        assert_null(doc);
}

static void test_formats(void **state) {
        (void) state;
        assert_int_equal(report_format_from_string("md"), REPORT_FORMAT_MD);
        assert_int_equal(report_format_from_string("html"), REPORT_FORMAT_HTML);
        assert_int_equal(report_format_from_string("csv"), REPORT_FORMAT_CSV);
        assert_int_equal(report_format_from_string("pdf"), -EINVAL);
        assert_int_equal(report_format_from_string(NULL), -EINVAL);
        assert_string_equal(report_format_to_string(REPORT_FORMAT_CSV), "csv");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_periods),
                cmocka_unit_test(test_quarterly_with_work),
                cmocka_unit_test(test_quarterly_without_work),
                cmocka_unit_test(test_csv_quoting),
                cmocka_unit_test(test_quarterly_investigations),
                cmocka_unit_test(test_html_escaping),
                cmocka_unit_test(test_business_seconds),
                cmocka_unit_test(test_availability),
                cmocka_unit_test(test_sla),
                cmocka_unit_test(test_fault_report),
                cmocka_unit_test(test_erasure_report),
                cmocka_unit_test(test_formats),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
