/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

const char *fault_state_to_string(FaultState s) {
        switch (s) {
        case FAULT_OPEN:
                return "open";
        case FAULT_CLEARED:
                return "cleared";
        case FAULT_CLOSED:
                return "closed";
        }
        return "unknown";
}

const char *fault_severity_to_string(FaultSeverity s) {
        return s == FAULT_DOWN ? "down" : "degraded";
}

const char *fault_origin_to_string(FaultOrigin o) {
        switch (o) {
        case FAULT_ORIGIN_CALL:
                return "call";
        case FAULT_ORIGIN_ANOMALY:
                return "anomaly";
        default:
                return "probe";
        }
}

FaultOrigin fault_origin_from_string(const char *s) {
        return s && strcmp(s, "call") == 0      ? FAULT_ORIGIN_CALL
               : s && strcmp(s, "anomaly") == 0 ? FAULT_ORIGIN_ANOMALY
                                                : FAULT_ORIGIN_PROBE;
}

bool fault_clock_running(const Fault *f) {
        return f->state == FAULT_OPEN && f->onsite_started_at == 0 && f->received_at != 0 &&
               !f->sendback;
}

time_t fault_due(const Fault *f) {
        return f->deferral_approved_at && f->deferred_onsite_due ? f->deferred_onsite_due
                                                                 : f->onsite_due;
}

void fault_done(Fault *f) {
        for (size_t i = 0; f->hidden && i < f->n_hidden; i++)
                free(f->hidden[i]);
        free(f->hidden);
        f->hidden = NULL;
        f->n_hidden = 0;
}

int fault_copy(Fault *dst, const Fault *src) {
        Fault f = *src;

        f.hidden = NULL;
        f.n_hidden = 0;
        if (src->n_hidden > 0) {
                f.hidden = calloc(src->n_hidden, sizeof(char *));
                if (!f.hidden)
                        return -ENOMEM;
                for (; f.n_hidden < src->n_hidden; f.n_hidden++) {
                        f.hidden[f.n_hidden] = strdup(src->hidden[f.n_hidden]);
                        if (!f.hidden[f.n_hidden]) {
                                fault_done(&f);
                                return -ENOMEM;
                        }
                }
        }
        *dst = f;
        return 0;
}

static const struct {
        const char *kind, *ja, *en;
} kind_words[] = {
        { "camera_down", "カメラ応答なし", "camera down" },
        { "router_down", "LTEルーター応答なし", "LTE router down" },
        { "tunnel_down", "VPNトンネル断", "VPN tunnel down" },
        { "vpn_down", "VPNルーター応答なし", "VPN router down" },
        { "site_down", "現場全体が応答なし", "whole site down" },
        { "lte_weak", "LTE電波低下", "weak LTE signal" },
        { "wan_down", "LTE回線断", "WAN interface down" },
        { "clock_skew", "カメラ時刻ずれ", "camera clock skew" },
        { "recording_stopped", "録画停止", "recording stopped" },
        { "storage_error", "SDカード異常", "SD card error" },
        { "model_mismatch", "機種不一致", "wrong model" },
        { "auth_failed", "認証失敗", "authentication failed" },
        { "identity_mismatch", "別の機器が応答（他の現場の機器）", "another device answers" },
        { "snmp_auth_failed", "SNMPv3認証失敗", "SNMPv3 authentication failed" },
        { "device_swapped", "機器の交換（シリアル番号の変化）", "device swapped" },
        { "vpn_overload", "VPNルーター高負荷", "VPN router overloaded" },
        { "vpn_temperature", "VPNルーター温度異常", "VPN router temperature" },
        { "vpn_alarm", "VPNルーター警告灯", "VPN router alarm LED" },
        { "camera_tampered", "カメラの画角変化・遮蔽（いたずら）", "camera tampered with" },
        { "degraded", "機能低下", "degraded" },
        { "anomaly", "異常（調査の結果、障害として対応）", "anomaly escalated to a fault" },
        { "housing_damaged", "筐体破損", "housing damaged" },
        { "lens_misaligned", "画角ずれ", "lens misaligned" },
        { "reported", "通報による障害", "reported fault" },
        { "quarterly_report", "作業実績報告書", "work report" },
        { "annual_plan", "年間計画表及びサポート体制図", "annual plan and support chart" },
        { "completion_notice", "完了届", "completion notice" },
        { "recovery_report", "障害復旧作業報告書", "fault recovery report" },
        { "erasure_report", "データ消去報告書", "data erasure report" },
        { "archive", "納品物件の電子媒体（CD-R）", "the year's archive on CD-R" },
};

const char *fault_kind_word(const char *kind, bool ja) {
        for (size_t i = 0; i < sizeof(kind_words) / sizeof(kind_words[0]); i++)
                if (strcmp(kind, kind_words[i].kind) == 0)
                        return ja ? kind_words[i].ja : kind_words[i].en;
        return NULL;
}
