/* SPDX-License-Identifier: MIT */

/* What the mails say: composition of an event's mail in notify.language,
 * its digest entry, the digest of a mail storm, the recipients and the
 * outbox row. How they look on the wire is mail-wire.c's. */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mail-internal.h"
#include "mail.h"
#include "macro.h"
#include "timeutil.h"
#include "words.h"

#define LOCAL_TIME_MAX 32

/* ======================================================================== */
/* Composition */

typedef struct Words {
        const char *ja, *en;
} Words;

static const Words event_prefixes[_EVENT_TYPE_MAX] = {
        [EVENT_FAULT_RAISED] = { "障害発生", "FAULT" },
        [EVENT_FAULT_CLEARED] = { "復旧", "CLEARED" },
        [EVENT_FAULT_TRANSIENT] = { "自然復旧（一時障害）", "TRANSIENT" },
        [EVENT_ANOMALY] = { "要調査", "ANOMALY" },
        [EVENT_DEVICE_RESTARTED] = { "機器再起動", "RESTARTED" },
        [EVENT_DEVICE_SWAPPED] = { "機器交換検知", "DEVICE SWAPPED" },
        [EVENT_SLA_WARNING] = { "着手期限接近", "SLA WARNING" },
        [EVENT_SLA_BREACH] = { "着手期限超過", "SLA BREACH" },
        [EVENT_DEFERRAL_NEEDED] = { "翌朝対応の承認依頼", "DEFERRAL NEEDED" },
        [EVENT_RENOTIFY] = { "再通知（未確認）", "REMINDER" },
        [EVENT_ACKNOWLEDGED] = { "受領確認", "ACKNOWLEDGED" },
        [EVENT_ONSITE_STARTED] = { "現地着手", "ONSITE" },
        [EVENT_DEFERRAL_APPROVED] = { "翌朝対応承認", "DEFERRAL APPROVED" },
        [EVENT_RECOVERED] = { "復旧作業完了", "RECOVERED" },
        [EVENT_REPORT_SUBMITTED] = { "報告書提出", "REPORT SUBMITTED" },
        [EVENT_WORK_RECORDED] = { "作業記録", "WORK RECORDED" },
        [EVENT_FAULT_CLOSED] = { "障害終了", "CLOSED" },
        [EVENT_REPORT_DUE] = { "提出期限接近", "REPORT DUE" },
        [EVENT_REPORT_OVERDUE] = { "提出期限超過", "REPORT OVERDUE" },
        [EVENT_PARTS_QUOTED] = { "有償部品の見積提出", "PARTS QUOTED" },
        [EVENT_PARTS_APPROVED] = { "有償部品の承認", "PARTS APPROVED" },
        [EVENT_FAULT_RECEIVED] = { "障害受付", "RECEIVED" },
        [EVENT_INVESTIGATED] = { "調査記録", "INVESTIGATED" },
        [EVENT_SECURITY_INCIDENT] = { "情報セキュリティ事故", "SECURITY INCIDENT" },
        [EVENT_FAULT_CHANGED] = { "障害内容の変化", "FAULT CHANGED" },
};

static const Words event_leads[_EVENT_TYPE_MAX] = {
        [EVENT_FAULT_RAISED] = { "障害が発生しました。"
                                 "現地着手期限までに現地作業を開始してください。",
                                 "A fault was raised. Onsite work must start by the due time." },
        [EVENT_FAULT_CLEARED] = { "障害は復旧しました。"
                                  "作業を記録し、障害復旧作業報告書を提出してください。",
                                  "The fault cleared. Record the work and hand in the fault "
                                  "recovery report." },
        [EVENT_FAULT_TRANSIENT] = { "現地作業の前に自然に復旧しました（一時障害）。"
                                    "期限の計時は止まりました。",
                                    "The fault cleared by itself before onsite work (transient); "
                                    "its clock stopped." },
        [EVENT_ANOMALY] = { "一時障害や再起動が繰り返されています。原因を調査してください。",
                            "The device keeps failing and recovering by itself: investigate "
                            "the cause." },
        [EVENT_DEVICE_RESTARTED] = { "機器が再起動しました（稼働時間が戻りました）。",
                                     "The device restarted (its uptime went back)." },
        [EVENT_DEVICE_SWAPPED] = { "機器のシリアル番号が変わりました（機器の交換）。",
                                   "The device's serial number changed: it was swapped." },
        [EVENT_SLA_WARNING] = { "現地着手期限が迫っていますが、現地作業が始まっていません。",
                                "The onsite due time is near and onsite work has not started." },
        [EVENT_SLA_BREACH] = { "現地着手期限を過ぎましたが、現地作業が始まっていません。",
                               "The onsite due time passed without onsite work." },
        [EVENT_DEFERRAL_NEEDED] = { "本日の受付時間内に現地作業を始められない見込みです。"
                                    "監督者は翌朝の対応を承認できます。",
                                    "Onsite work cannot start before closing time. The "
                                    "supervisor may approve a visit the next morning." },
        [EVENT_RENOTIFY] = { "障害が続いており、まだ誰も受領確認していません。",
                             "The fault is still open and nobody has acknowledged it." },
        [EVENT_REPORT_DUE] = { "契約上の提出物の期限が近づいています。",
                               "A deliverable of the contract is due soon." },
        [EVENT_REPORT_OVERDUE] = { "契約上の提出物の期限を過ぎています。",
                                   "A deliverable of the contract is overdue." },
        [EVENT_FAULT_RECEIVED] = { "障害受付の連絡を受けました。契約の計時が始まりました。"
                                   "現地着手期限までに現地作業を開始してください。",
                                   "The fault call was received: the contract's clocks run "
                                   "from now. Onsite work must start by the due time." },
        [EVENT_SECURITY_INCIDENT] = { "情報セキュリティ事故の疑いがあります（別記1 第9条、"
                                      "別記2 第10条）。直ちに市の担当者に報告し、その指示に"
                                      "従ってください。機器の設定や認証情報を確認するまで、"
                                      "機器を信用しないでください。",
                                      "A suspected security incident (Annex 1 Art. 9, Annex 2 "
                                      "Art. 10): report it to the city at once and follow its "
                                      "instructions. Do not trust the device until its "
                                      "configuration and credentials have been checked." },
        [EVENT_FAULT_CHANGED] = { "障害の内容が変わりました（機器はまだ復旧していません）。"
                                  "同じ障害として、受付時刻と現地着手期限はそのままです。",
                                  "The fault changed (the device has not recovered): it is the "
                                  "same fault, its reception and onsite due unchanged." },
};

/* The field labels of the body, in order. */
typedef enum Label {
        LABEL_DUE,
        LABEL_NO_DUE,
        LABEL_SITE,
        LABEL_DEVICE,
        LABEL_KIND,
        LABEL_SEVERITY,
        LABEL_REASON,
        LABEL_HINT,
        LABEL_RECEIVED,
        LABEL_DETECTED,
        LABEL_EVENT_AT,
        LABEL_CALLER,
        LABEL_FAULT_ID,
        LABEL_DEFERRAL,
        LABEL_HIDDEN,
        LABEL_RECORD,
        LABEL_ACT,
        _LABEL_MAX,
} Label;

static const Words labels[_LABEL_MAX] = {
        [LABEL_DUE] = { "現地着手期限", "Onsite due" },
        [LABEL_NO_DUE] = { "現地着手期限: なし", "Onsite due: none" },
        [LABEL_CALLER] = { "連絡元", "Call from" },
        [LABEL_SITE] = { "現場", "Site" },
        [LABEL_DEVICE] = { "機器", "Device" },
        [LABEL_KIND] = { "種別", "Kind" },
        [LABEL_SEVERITY] = { "状態", "State" },
        [LABEL_REASON] = { "理由", "Reason" },
        [LABEL_HINT] = { "確認箇所", "Check" },
        [LABEL_RECEIVED] = { "受付時刻", "Received at" },
        [LABEL_DETECTED] = { "検知時刻", "Detected at" },
        [LABEL_EVENT_AT] = { "通知事象の時刻", "Event at" },
        [LABEL_FAULT_ID] = { "障害ID", "Fault id" },
        [LABEL_DEFERRAL] = { "翌朝対応", "Next-morning visit" },
        [LABEL_HIDDEN] = { "到達不能の機器", "Unreachable devices" },
        [LABEL_RECORD] = { "記録", "Log" },
        [LABEL_ACT] = { "対応:", "What to do:" },
};

typedef struct Composer {
        const Config *config;
        const Event *event;
        const Fault *fault;
        bool ja;
        char site[16];               /* "" for the VPN */
        Buf out;
} Composer;

static const char *tr(const Composer *k, const Words *w) {
        return k->ja ? w->ja : w->en;
}

/* An entry of a table by event type; the type's name where it has none. */
static const char *event_words(const Composer *k, const Words *table, EventType t) {
        const char *w = tr(k, &table[t]);

        return w ?: event_type_to_string(t);
}

static const char *label(const Composer *k, Label l) {
        return tr(k, &labels[l]);
}

/* "2026-11-25 17:30", contract-local. */
static char *format_local(time_t t, char buf[static LOCAL_TIME_MAX]) {
        int y, m, d, sec;
        Day day;

        if (t <= 0 || local_from_instant(t, &day, &sec) < 0) {
                (void) snprintf(buf, LOCAL_TIME_MAX, "-");
                return buf;
        }
        day_to_ymd(day, &y, &m, &d);
        (void) snprintf(buf, LOCAL_TIME_MAX, "%04d-%02d-%02d %02d:%02d", y, m, d, sec / 3600,
                        sec / 60 % 60);
        return buf;
}

static Language lang(const Composer *k) {
        return k->ja ? LANGUAGE_JA : LANGUAGE_EN;
}

static const char *kind_text(const Composer *k, const char *kind) {
        if (!*kind && k->event->type == EVENT_ANOMALY)
                return k->ja ? "異常の繰り返し" : "repeated failures";
        return words_kind(kind, lang(k)) ?: kind;
}

/* "カメラ" for "05-camera", "VPNルーター" for "vpn"; NULL when unknown. */
static const char *device_text(const Composer *k, const char *device) {
        return words_device(device, lang(k));
}

static const char *hint_text(const Composer *k, const char *hint) {
        if (k->ja && streq(hint, "power, breaker or LTE at the site"))
                return "現場の電源・漏電ブレーカー・LTE回線";
        return hint;
}

/* "05 市川市真間1-12-4 ..." or "VPN RTX1220（市役所）"; nothing for an
 * event about no device (a contract deliverable). */
static bool has_place(const Composer *k) {
        return k->site[0] || streq(k->event->device, "vpn");
}

static void put_place(Composer *k) {
        const SiteConf *s = config_find_site(k->config, k->site);

        if (!k->site[0]) {
                buf_puts(&k->out, "VPN ");
                mail_put_clean(&k->out, k->config->vpn.name ?: "RTX1220");
                buf_printf(&k->out, k->ja ? "（%s）" : " (%s)", word(WORD_CITY_HALL, lang(k)));
                return;
        }
        mail_put_clean(&k->out, k->site);
        if (s && s->name && *s->name) {
                buf_puts(&k->out, " ");
                mail_put_clean(&k->out, s->name);
        }
}

/* The kind a mail names: the fault's, or for a security incident the
 * incident's (the event's kind). */
static const char *mail_kind(const Composer *k) {
        if (k->event->type == EVENT_SECURITY_INCIDENT || !k->fault)
                return k->event->kind;
        return k->fault->kind;
}

static void put_subject(Composer *k) {
        const char *kind = mail_kind(k);

        buf_puts(&k->out, "[fieldwatch] ");
        buf_puts(&k->out, event_words(k, event_prefixes, k->event->type));
        if (has_place(k)) {
                buf_puts(&k->out, " ");
                put_place(k);
        }
        if (*kind_text(k, kind)) {
                buf_puts(&k->out, " ");
                mail_put_clean(&k->out, kind_text(k, kind));
        }
}

/* The first line: the due time that counts now. */
static void put_due(Composer *k) {
        const Fault *f = k->fault;
        time_t due = f ? fault_due(f) : k->event->onsite_due;
        char b[LOCAL_TIME_MAX];

        if (due <= 0 && f && f->sendback) {
                buf_puts(&k->out, k->ja ? "現地着手期限: なし（センドバック保守）\n"
                                        : "Onsite due: none (send-back maintenance)\n");
                return;
        }
        if (due <= 0 && f && !f->received_at && f->state == FAULT_OPEN) {
                buf_puts(&k->out, k->ja ? "現地着手期限: 障害受付の連絡を受けた時から計時\n"
                                        : "Onsite due: counted from the fault call's "
                                          "reception\n");
                return;
        }
        if (due <= 0) {
                buf_printf(&k->out, "%s\n", label(k, LABEL_NO_DUE));
                return;
        }
        buf_printf(&k->out, "%s: %s", label(k, LABEL_DUE), format_local(due, b));
        if (f && deferral_counts(f->deferral_approved_at, f->onsite_due, f->deferred_onsite_due))
                buf_puts(&k->out,
                         k->ja ? "（翌朝対応を承認済み）" : " (next-morning visit approved)");
        if (f && f->onsite_started_at)
                buf_puts(&k->out, k->ja ? "（現地作業を開始済み）" : " (onsite work started)");
        else if (f && f->state != FAULT_OPEN)
                buf_puts(&k->out, k->ja ? "（復旧済み）" : " (cleared)");
        buf_puts(&k->out, "\n");
}

static void put_field(Composer *k, Label l, const char *value) {
        buf_printf(&k->out, "%s: ", label(k, l));
        mail_put_clean(&k->out, value);
        buf_puts(&k->out, "\n");
}

static void put_time_field(Composer *k, Label l, time_t t) {
        char b[LOCAL_TIME_MAX];

        put_field(k, l, format_local(t, b));
}

/* The devices a fault makes unreachable: the first MAIL_HIDDEN_MAX, then
 * how many more (a VPN router's fault hides three per site), so that the
 * list can never make the body pass MAIL_BODY_MAX. */
static void put_hidden(Composer *k, char *const *hidden, size_t n) {
        size_t shown = MIN(n, (size_t) MAIL_HIDDEN_MAX);

        buf_printf(&k->out, "%s: ", label(k, LABEL_HIDDEN));
        for (size_t i = 0; i < shown; i++) {
                buf_puts(&k->out, i ? ", " : "");
                mail_put_clean(&k->out, hidden[i]);
        }
        buf_puts(&k->out, n ? "\n" : k->ja ? "なし\n" : "none\n");
        if (n > shown)
                buf_printf(&k->out,
                           k->ja ? "  …ほか %zu 台（全 %zu 台。すべては fieldwatchctl faults --json "
                                   "で確認できます）\n"
                                 : "  …and %zu more (%zu in all; fieldwatchctl faults --json shows "
                                   "them all)\n",
                           n - shown, n);
}

static void put_deferral(Composer *k) {
        const Fault *f = k->fault;
        char b[LOCAL_TIME_MAX];

        if (f->sendback || !f->received_at)
                return;
        buf_printf(&k->out, "%s: ", label(k, LABEL_DEFERRAL));
        format_local(f->deferred_onsite_due, b);
        if (deferral_counts(f->deferral_approved_at, f->onsite_due, f->deferred_onsite_due))
                buf_printf(&k->out, k->ja ? "承認済み（期限 %s）\n" : "approved (due %s)\n", b);
        else if (f->deferral_approved_at)
                buf_printf(&k->out,
                           k->ja ? "期限の経過後に承認（期限は変わらず。翌朝 %s までに訪問）\n"
                                 : "approved after the due time (the due stays; a visit by "
                                   "%s)\n",
                           b);
        else if (f->deferral_eligible)
                buf_printf(&k->out,
                           k->ja ? "可（監督者の承認があれば %s まで）\n"
                                 : "eligible (with the supervisor's approval, by %s)\n",
                           b);
        else
                buf_printf(&k->out,
                           k->ja ? "部品手配等の理由があり監督者が承認すれば %s まで\n"
                                 : "with a reason such as parts to procure and the supervisor's "
                                   "approval, by %s\n",
                           b);
}

static void put_facts(Composer *k) {
        const Event *e = k->event;
        const Fault *f = k->fault;
        const char *dev = device_text(k, e->device);
        const char *kind = mail_kind(k);
        char b[LOCAL_TIME_MAX];

        if (has_place(k)) {
                buf_printf(&k->out, "%s: ", label(k, LABEL_SITE));
                put_place(k);
                buf_puts(&k->out, "\n");
        }
        if (e->device[0]) {
                buf_printf(&k->out, "%s: ", label(k, LABEL_DEVICE));
                mail_put_clean(&k->out, e->device);
                if (dev)
                        buf_printf(&k->out, k->ja ? "（%s）" : " (%s)", dev);
                buf_puts(&k->out, "\n");
        }
        if (*kind_text(k, kind)) {
                buf_printf(&k->out, "%s: ", label(k, LABEL_KIND));
                mail_put_clean(&k->out, kind_text(k, kind));
                if (*kind && !streq(kind_text(k, kind), kind)) {
                        buf_puts(&k->out, " (");
                        mail_put_clean(&k->out, kind);
                        buf_puts(&k->out, ")");
                }
                buf_puts(&k->out, "\n");
        }
        if (f) {
                put_field(k, LABEL_SEVERITY,
                          word(f->severity == FAULT_DOWN ? WORD_DOWN : WORD_DEGRADED, lang(k)));
                if (f->reason[0])
                        put_field(k, LABEL_REASON, f->reason);
                if (f->hint[0])
                        put_field(k, LABEL_HINT, hint_text(k, f->hint));
                if (f->received_at)
                        put_time_field(k, LABEL_RECEIVED, f->received_at);
                else
                        put_field(k, LABEL_RECEIVED,
                                  k->ja ? "未受付（障害受付の連絡を待っています）"
                                        : "not yet (waiting for the fault call)");
                if (f->received_from[0])
                        put_field(k, LABEL_CALLER, f->received_from);
                put_time_field(k, LABEL_DETECTED, f->detected_at);
        } else if (e->received_at > 0)
                put_time_field(k, LABEL_RECEIVED, e->received_at);
        buf_printf(&k->out, "%s: %s (%s)\n", label(k, LABEL_EVENT_AT), format_local(e->at, b),
                   event_type_to_string(e->type));
        if (f || e->fault_id > 0)
                buf_printf(&k->out, "%s: %lld\n", label(k, LABEL_FAULT_ID),
                           (long long) (f ? f->id : e->fault_id));
        if (f) {
                put_deferral(k);
                put_hidden(k, f->hidden, f->n_hidden);
        }
        if (e->text[0])
                put_field(k, LABEL_RECORD, e->text);
}

static void put_command(Composer *k, const char *what, const char *fmt, long long id) {
        buf_printf(&k->out, "  %s\n    ", what);
        buf_printf(&k->out, fmt, id, k->ja ? "氏名" : "NAME");
        buf_puts(&k->out, "\n");
}

static void put_actions(Composer *k) {
        const Fault *f = k->fault;
        long long id = f ? (long long) f->id : (long long) k->event->fault_id;
        bool open = f ? f->state == FAULT_OPEN : id > 0;
        EventType t = k->event->type;

        buf_printf(&k->out, "\n%s\n", label(k, LABEL_ACT));
        if (id <= 0 && !k->event->device[0]) {
                buf_puts(&k->out, k->ja ? "  契約上の提出物と期限:\n"
                                        : "  The contract's deliverables and their dues:\n");
                buf_puts(&k->out, "    fieldwatchctl deadlines\n");
                return;
        }
        if (id <= 0) {
                buf_puts(&k->out, k->ja ? "  機器の状態を確認してください:\n"
                                        : "  Look at the devices' state:\n");
                buf_puts(&k->out, "    fieldwatchctl status\n    fieldwatchctl faults --open\n");
                return;
        }
        if (open && f && !f->received_at && !f->sendback)
                buf_printf(&k->out, "  %s\n    fieldwatchctl receive %lld --from %s --by %s\n",
                           k->ja ? "障害受付の連絡を記録する（計時が始まります）"
                                 : "Record the fault call (the clocks start)",
                           id, k->ja ? "連絡元" : "CALLER", k->ja ? "氏名" : "NAME");
        if (open && t == EVENT_DEFERRAL_NEEDED && f && !f->deferral_approved_at)
                put_command(k, k->ja ? "翌朝対応を承認する（監督者）"
                                     : "Approve the next-morning visit (supervisor)",
                            "fieldwatchctl defer %lld --approved-by %s", id);
        if (open && f && !f->acknowledged_at)
                put_command(k, k->ja ? "受領を確認する" : "Acknowledge",
                            "fieldwatchctl ack %lld --by %s", id);
        if (open && f && !f->onsite_started_at)
                put_command(k,
                            k->ja ? "現地作業の開始を記録する" : "Record the start of onsite work",
                            "fieldwatchctl onsite %lld --by %s", id);
        if (t == EVENT_FAULT_CLEARED || (open && f && f->onsite_started_at))
                put_command(k,
                            k->ja ? "復旧作業を記録する（記録媒体を交換したら --media-replaced）"
                                     : "Record the recovery work (--media-replaced when a "
                                       "storage medium was replaced)",
                            "fieldwatchctl recover %lld --by %s", id);
        if (!open || t == EVENT_FAULT_TRANSIENT)
                buf_printf(&k->out, "  %s\n    fieldwatchctl faults\n",
                           k->ja ? "障害の一覧を見る" : "See the faults");
}

static void put_footer(Composer *k) {
        const char *name = k->config->contract.name;

        buf_puts(&k->out, "\n-- \nfieldwatch");
        if (name && *name) {
                buf_puts(&k->out, k->ja ? "（" : " (");
                mail_put_clean(&k->out, name);
                buf_puts(&k->out, k->ja ? "）" : ")");
        }
        buf_puts(&k->out, k->ja ? "による自動送信です。\n" : ": an automatic message.\n");
}

static void composer_site(Composer *k) {
        const Event *e = k->event;
        const char *src = e->site[0] ? e->site : k->fault ? k->fault->site : "";

        if (!*src && !streq(e->device, "vpn") && !streq(e->device, ""))
                /* An event without a fault names only its device: "05-camera". */
                (void) snprintf(k->site, sizeof(k->site), "%.*s", device_site_len(e->device),
                                e->device);
        else
                (void) snprintf(k->site, sizeof(k->site), "%s", src);
}

void mail_draft_done(MailDraft *d) {
        if (!d)
                return;
        free(d->subject);
        free(d->body);
        d->subject = d->body = NULL;
}

/* Why a mail could not be composed, for the fallback's lead line. */
static void put_fallback_reason(Composer *k, int error) {
        if (error == -E2BIG)
                buf_printf(&k->out, k->ja ? "本文が上限（%u KiB）を超えます"
                                          : "its body would pass the %u KiB limit",
                           MAIL_BODY_MAX / 1024);
        else
                buf_puts(&k->out, strerror(-error));
}

/* The short stand-in of a mail that could not be composed: the due, what
 * it is about, why the full text is missing and where to see it. Only
 * fields of bounded size, so it always fits. */
static void put_fallback_body(Composer *k, int error) {
        const Event *e = k->event;
        char b[LOCAL_TIME_MAX];

        put_due(k);
        buf_puts(&k->out, k->ja ? "\nこの通知の本文を作成できませんでした（"
                                : "\nThe full text of this notice could not be composed (");
        put_fallback_reason(k, error);
        buf_puts(&k->out, k->ja ? "）。内容は次のコマンドで確認してください:\n"
                                : "). See what it is about with:\n");
        buf_printf(&k->out, "  fieldwatchctl events --since %lld --limit 1\n",
                   (long long) (e->id - 1));
        if (k->fault || e->fault_id > 0)
                buf_puts(&k->out, "  fieldwatchctl faults --json\n");
        buf_puts(&k->out, "\n");
        if (has_place(k)) {
                buf_printf(&k->out, "%s: ", label(k, LABEL_SITE));
                put_place(k);
                buf_puts(&k->out, "\n");
        }
        if (e->device[0])
                put_field(k, LABEL_DEVICE, e->device);
        buf_printf(&k->out, "%s: %s (%s)\n", label(k, LABEL_EVENT_AT), format_local(e->at, b),
                   event_type_to_string(e->type));
        if (k->fault || e->fault_id > 0)
                buf_printf(&k->out, "%s: %lld\n", label(k, LABEL_FAULT_ID),
                           (long long) (k->fault ? k->fault->id : e->fault_id));
        put_actions(k);
        put_footer(k);
}

/* The subject and body of e's mail, or with a non-zero error the fallback
 * that says the mail could not be composed because of it. */
static int compose(const Config *c, const Event *e, const Fault *f, int error, MailDraft *ret) {
        Composer k = { .config = c, .event = e, .fault = f,
                       .ja = c->notify.language == LANGUAGE_JA };
        _cleanup_(freep) char *subject = NULL;
        char *body;
        int r;

        if (e->type < 0 || e->type >= _EVENT_TYPE_MAX)
                return -EINVAL;
        composer_site(&k);
        k.out = (Buf) { .max = 2048 };
        put_subject(&k);
        r = buf_finish(&k.out, &subject, NULL);
        if (r < 0)
                return r;
        k.out = (Buf) { .max = MAIL_BODY_MAX };
        if (error < 0)
                put_fallback_body(&k, error);
        else {
                put_due(&k);
                if (tr(&k, &event_leads[e->type]))
                        buf_printf(&k.out, "\n%s\n", tr(&k, &event_leads[e->type]));
                buf_puts(&k.out, "\n");
                put_facts(&k);
                put_actions(&k);
                put_footer(&k);
        }
        r = buf_finish(&k.out, &body, NULL);
        if (r < 0)
                return r;
        *ret = (MailDraft) { .subject = TAKE_PTR(subject), .body = body };
        return 0;
}

int mail_compose(const Config *c, const Event *e, const Fault *f, MailDraft *ret) {
        return compose(c, e, f, 0, ret);
}

/* ======================================================================== */
/* Digests */

/* A domain that may stand in a Message-ID. */
static bool domain_safe(const char *domain) {
        if (!domain || !*domain)
                return false;
        for (const char *p = domain; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr(".-[]:", *p))
                        return false;
        return true;
}

/* The due a digest entry names: the fault's while it waits for onsite work. */
static time_t entry_due(const Event *e, const Fault *f) {
        if (!f)
                return e->onsite_due;
        return f->state == FAULT_OPEN && !f->onsite_started_at ? fault_due(f) : 0;
}

int mail_digest_entry(const Config *c, const Event *e, const Fault *f, char **ret) {
        Composer k = { .config = c, .event = e, .fault = f,
                       .ja = c->notify.language == LANGUAGE_JA,
                       .out = { .max = MAIL_DIGEST_ENTRY_MAX } };
        const char *kind = f ? f->kind : e->kind, *dev = device_text(&k, e->device);
        int64_t fault_id = f ? f->id : e->fault_id;
        time_t due = entry_due(e, f);
        char b[LOCAL_TIME_MAX];

        if (e->type < 0 || e->type >= _EVENT_TYPE_MAX)
                return -EINVAL;
        composer_site(&k);
        /* "[障害発生] 05 PLACE カメラ停止", then the facts on one line. */
        buf_printf(&k.out, "[%s]", event_words(&k, event_prefixes, e->type));
        if (has_place(&k)) {
                buf_puts(&k.out, " ");
                put_place(&k);
        }
        if (*kind_text(&k, kind)) {
                buf_puts(&k.out, " ");
                mail_put_clean(&k.out, kind_text(&k, kind));
        }
        buf_puts(&k.out, "\n  ");
        if (e->device[0]) {
                buf_printf(&k.out, "  %s: ", label(&k, LABEL_DEVICE));
                mail_put_clean(&k.out, e->device);
                if (dev)
                        buf_printf(&k.out, k.ja ? "（%s）" : " (%s)", dev);
        }
        if (fault_id > 0)
                buf_printf(&k.out, "  %s: %lld", label(&k, LABEL_FAULT_ID),
                           (long long) fault_id);
        buf_printf(&k.out, "  %s: %s", label(&k, LABEL_EVENT_AT), format_local(e->at, b));
        if (due > 0)
                buf_printf(&k.out, "  %s: %s", label(&k, LABEL_DUE), format_local(due, b));
        return buf_finish(&k.out, ret, NULL);
}

int mail_digest_message_id(const char *domain, int64_t first_id, char *buf, size_t size) {
        int n;

        if (!domain_safe(domain))
                return -EINVAL;
        n = snprintf(buf, size, "<fw.digest.%lld@%s>", (long long) first_id, domain);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}

/* An entry from the outbox, each of its lines cleaned. */
static void put_entry(Buf *b, const char *entry) {
        for (const char *p = entry; *p;) {
                size_t k = strcspn(p, "\n");
                _cleanup_(freep) char *line = strndup(p, k);

                if (!line) {
                        b->error = b->error ?: -ENOMEM;
                        return;
                }
                mail_put_clean(b, line);
                buf_puts(b, "\n");
                p += k + (p[k] == '\n');
        }
}

static void put_digest_body(Buf *b, const OutboxHeld *h, bool ja) {
        char due[LOCAL_TIME_MAX], minute[LOCAL_TIME_MAX];

        format_local(h->held_until - 60, minute);
        if (h->earliest_due > 0)
                buf_printf(b, ja ? "現地着手期限（最も早いもの）: %s\n"
                                 : "Onsite due (the earliest): %s\n",
                           format_local(h->earliest_due, due));
        else
                buf_printf(b, "%s\n", ja ? labels[LABEL_NO_DUE].ja : labels[LABEL_NO_DUE].en);
        buf_printf(b, ja ? "\n%s の1分間に多数の通知があったため、"
                           "次の %zu 件をまとめてお送りします。"
                           "それぞれの障害の期限と対応は個別の通知と同じです。\n\n"
                         : "\nMany notices came in the minute of %s: these %zu are sent "
                           "together. Each fault's due and handling are as in a mail of its "
                           "own.\n\n",
                   minute, h->n);
        for (size_t i = 0; i < h->n; i++) {
                buf_printf(b, "%zu. ", i + 1);
                put_entry(b, h->entries[i]);
        }
        buf_printf(b, "\n%s\n", ja ? labels[LABEL_ACT].ja : labels[LABEL_ACT].en);
        buf_puts(b, ja ? "  未終了の障害を見る\n    fieldwatchctl faults --open\n"
                         "  受領を確認する\n    fieldwatchctl ack 障害ID --by 氏名\n"
                       : "  See the open faults\n    fieldwatchctl faults --open\n"
                         "  Acknowledge\n    fieldwatchctl ack FAULT-ID --by NAME\n");
        buf_puts(b, ja ? "\n-- \nfieldwatchによる自動送信です（まとめ）。\n"
                       : "\n-- \nfieldwatch: an automatic message (digest).\n");
}

int mail_digest(const OutboxHeld *h, const char *from, time_t now, OutboxMail *ret) {
        bool ja = !streq_ptr(h->language, "en");
        Buf subject = { .max = 512 }, body = { .max = MAIL_DIGEST_BODY_MAX };
        _cleanup_(freep) char *s = NULL, *text = NULL, *recipients = NULL,
                              *message_id = NULL, *language = NULL;
        char domain[256], id[MAIL_MESSAGE_ID_MAX], minute[LOCAL_TIME_MAX];
        int r;

        if (h->n == 0 || h->n > MAIL_DIGEST_MAX || !h->recipients || !from)
                return -EINVAL;
        r = mail_domain(from, domain, sizeof(domain));
        if (r >= 0)
                r = mail_digest_message_id(domain, h->ids[0], id, sizeof(id));
        if (r < 0)
                return r;
        format_local(h->held_until - 60, minute);
        buf_printf(&subject, ja ? "[fieldwatch] %zu件の障害通知（まとめ %s）"
                                : "[fieldwatch] %zu fault notices (digest of %s)",
                   h->n, minute);
        r = buf_finish(&subject, &s, NULL);
        if (r < 0)
                return r;
        put_digest_body(&body, h, ja);
        r = buf_finish(&body, &text, NULL);
        if (r < 0)
                return r;
        recipients = strdup(h->recipients);
        message_id = strdup(id);
        language = strdup(ja ? "ja" : "en");
        if (!recipients || !message_id || !language)
                return -ENOMEM;
        *ret = (OutboxMail) {
                .created_at = now,
                .next_attempt_at = now,
                .recipients = TAKE_PTR(recipients),
                .message_id = TAKE_PTR(message_id),
                .subject = TAKE_PTR(s),
                .body = TAKE_PTR(text),
                .language = TAKE_PTR(language),
                .onsite_due = h->earliest_due,
                .digest_count = (int) h->n,
        };
        return 0;
}

int mail_message_id(const char *domain, int64_t event_id, int64_t fault_id, char *buf,
                    size_t size) {
        int n;

        if (!domain_safe(domain))
                return -EINVAL;
        n = snprintf(buf, size, "<fw.%lld.%lld@%s>", (long long) event_id, (long long) fault_id,
                     domain);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}


/* ======================================================================== */
/* Recipients and the outbox row */

bool mail_escalates(EventType t) {
        return t == EVENT_SLA_BREACH || t == EVENT_DEFERRAL_NEEDED;
}

/* Whether the address of mailbox is among the n first of list. */
static bool address_listed(char *const *list, size_t n, const char *mailbox) {
        const char *a, *b, *c, *d;

        mail_mailbox_address(mailbox, strlen(mailbox), &a, &b);
        for (size_t i = 0; i < n; i++) {
                mail_mailbox_address(list[i], strlen(list[i]), &c, &d);
                if (b - a == d - c && strncasecmp(a, c, (size_t) (b - a)) == 0)
                        return true;
        }
        return false;
}

int mail_recipients(const Config *c, EventType t, char **ret) {
        _cleanup_(buf_done) Buf b = { .max = MAIL_RENDER_MAX };
        size_t n = 0;

        for (size_t i = 0; i < c->notify.n_to; i++) {
                if (address_listed(c->notify.to, i, c->notify.to[i]))
                        continue;
                buf_puts(&b, n++ ? ", " : "");
                mail_put_mailbox(&b, c->notify.to[i]);
        }
        for (size_t i = 0; mail_escalates(t) && i < c->notify.n_escalate_to; i++) {
                const char *m = c->notify.escalate_to[i];

                if (address_listed(c->notify.to, c->notify.n_to, m) ||
                    address_listed(c->notify.escalate_to, i, m))
                        continue;
                buf_puts(&b, n++ ? ", " : "");
                mail_put_mailbox(&b, m);
        }
        for (size_t i = 0; t == EVENT_SECURITY_INCIDENT && i < c->notify.n_security_to; i++) {
                const char *m = c->notify.security_to[i];

                if (address_listed(c->notify.to, c->notify.n_to, m) ||
                    address_listed(c->notify.security_to, i, m))
                        continue;
                buf_puts(&b, n++ ? ", " : "");
                mail_put_mailbox(&b, m);
        }
        if (n == 0)
                return -EINVAL;
        return buf_finish(&b, ret, NULL);
}

/* The outbox row of e's mail; error < 0: the fallback that says the mail
 * could not be composed because of it. */
static int prepare(const Config *c, const Event *e, const Fault *f, time_t now, int error,
                   OutboxMail *ret) {
        _cleanup_(mail_draft_done) MailDraft d = {};
        _cleanup_(freep) char *recipients = NULL, *message_id = NULL, *thread_id = NULL;
        _cleanup_(freep) char *entry = NULL, *language = NULL;
        char domain[256], id[MAIL_MESSAGE_ID_MAX];
        int64_t fault_id = e->fault_id > 0 ? e->fault_id : f ? f->id : 0;
        int r;

        if (!c->notify.from || e->id <= 0)
                return -EINVAL;
        r = mail_domain(c->notify.from, domain, sizeof(domain));
        if (r < 0)
                return r;
        r = mail_message_id(domain, e->id, fault_id, id, sizeof(id));
        if (r < 0)
                return r;
        r = mail_recipients(c, e->type, &recipients);
        if (r < 0)
                return r;
        r = compose(c, e, f, error, &d);
        if (r < 0)
                return r;
        message_id = strdup(id);
        if (!message_id)
                return -ENOMEM;
        if (f && f->thread_id[0] && !streq(f->thread_id, id)) {
                thread_id = strdup(f->thread_id);
                if (!thread_id)
                        return -ENOMEM;
        }
        /* Without an entry (too long), the mail always goes alone; a
         * security incident always goes alone and at once, never held for a
         * digest. */
        if (e->type != EVENT_SECURITY_INCIDENT) {
                r = mail_digest_entry(c, e, f, &entry);
                if (r == -ENOMEM)
                        return r;
        }
        language = strdup(language_to_string(c->notify.language));
        if (!language)
                return -ENOMEM;
        *ret = (OutboxMail) {
                .event_id = e->id,
                .fault_id = fault_id,
                .created_at = now,
                .next_attempt_at = now,
                .recipients = TAKE_PTR(recipients),
                .message_id = TAKE_PTR(message_id),
                .thread_id = TAKE_PTR(thread_id),
                .subject = TAKE_PTR(d.subject),
                .body = TAKE_PTR(d.body),
                .digest_after = c->notify.digest_after,
                .language = TAKE_PTR(language),
                .digest_entry = TAKE_PTR(entry),
                .onsite_due = entry_due(e, f),
        };
        return 0;
}

int mail_prepare(const Config *c, const Event *e, const Fault *f, time_t now, OutboxMail *ret) {
        return prepare(c, e, f, now, 0, ret);
}

int mail_prepare_fallback(const Config *c, const Event *e, const Fault *f, time_t now, int error,
                          OutboxMail *ret) {
        if (error >= 0)
                return -EINVAL;
        return prepare(c, e, f, now, error, ret);
}
