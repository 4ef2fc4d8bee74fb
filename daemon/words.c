/* SPDX-License-Identifier: MIT */

/* The ja/en nouns of words.h, and the names that key them. */

#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "words.h"

static const struct {
        const char *ja, *en;
} words[_WORD_MAX] = {
        [WORD_CAMERA] = { "カメラ", "camera" },
        [WORD_LTE_ROUTER] = { "LTEルーター", "LTE router" },
        [WORD_VPN_TUNNEL] = { "VPNトンネル", "VPN tunnel" },
        [WORD_VPN_ROUTER] = { "VPNルーター", "VPN router" },
        [WORD_CITY_HALL] = { "市役所", "city hall" },
        [WORD_DOWN] = { "停止", "down" },
        [WORD_DEGRADED] = { "機能低下", "degraded" },
        [WORD_CAMERA_DOWN] = { "カメラ応答なし", "camera down" },
        [WORD_ROUTER_DOWN] = { "LTEルーター応答なし", "LTE router down" },
        [WORD_TUNNEL_DOWN] = { "VPNトンネル断", "VPN tunnel down" },
        [WORD_VPN_DOWN] = { "VPNルーター応答なし", "VPN router down" },
        [WORD_SITE_DOWN] = { "現場全体が応答なし", "whole site down" },
        [WORD_LTE_WEAK] = { "LTE電波低下", "weak LTE signal" },
        [WORD_WAN_DOWN] = { "LTE回線断", "WAN interface down" },
        [WORD_CLOCK_SKEW] = { "カメラ時刻ずれ", "camera clock skew" },
        [WORD_RECORDING_STOPPED] = { "録画停止", "recording stopped" },
        [WORD_STORAGE_ERROR] = { "SDカード異常", "SD card error" },
        [WORD_MODEL_MISMATCH] = { "機種不一致", "wrong model" },
        [WORD_AUTH_FAILED] = { "認証失敗", "authentication failed" },
        [WORD_IDENTITY_MISMATCH] = { "別の機器が応答（他の現場の機器）", "another device answers" },
        [WORD_SNMP_AUTH_FAILED] = { "SNMPv3認証失敗", "SNMPv3 authentication failed" },
        [WORD_DEVICE_SWAPPED] = { "機器の交換（シリアル番号の変化）", "device swapped" },
        [WORD_VPN_OVERLOAD] = { "VPNルーター高負荷", "VPN router overloaded" },
        [WORD_VPN_TEMPERATURE] = { "VPNルーター温度異常", "VPN router temperature" },
        [WORD_VPN_ALARM] = { "VPNルーター警告灯", "VPN router alarm LED" },
        [WORD_CAMERA_TAMPERED] = { "カメラの画角変化・遮蔽（いたずら）", "camera tampered with" },
        [WORD_ANOMALY] = { "異常（調査の結果、障害として対応）", "anomaly escalated to a fault" },
        [WORD_HOUSING_DAMAGED] = { "筐体破損", "housing damaged" },
        [WORD_LENS_MISALIGNED] = { "画角ずれ", "lens misaligned" },
        [WORD_REPORTED] = { "通報による障害", "reported fault" },
        [WORD_QUARTERLY_REPORT] = { "作業実績報告書", "work report" },
        [WORD_ANNUAL_PLAN] = { "年間計画表及びサポート体制図", "annual plan and support chart" },
        [WORD_COMPLETION_NOTICE] = { "完了届", "completion notice" },
        [WORD_RECOVERY_REPORT] = { "障害復旧作業報告書", "fault recovery report" },
        [WORD_ERASURE_REPORT] = { "データ消去報告書", "data erasure report" },
        [WORD_ARCHIVE] = { "納品物件の電子媒体（CD-R）", "the year's archive on CD-R" },
};

/* The kinds as the engine, the store and the operators name them. */
static const struct {
        const char *kind;
        Word word;
} kinds[] = {
        { "camera_down", WORD_CAMERA_DOWN },
        { "router_down", WORD_ROUTER_DOWN },
        { "tunnel_down", WORD_TUNNEL_DOWN },
        { "vpn_down", WORD_VPN_DOWN },
        { "site_down", WORD_SITE_DOWN },
        { "lte_weak", WORD_LTE_WEAK },
        { "wan_down", WORD_WAN_DOWN },
        { "clock_skew", WORD_CLOCK_SKEW },
        { "recording_stopped", WORD_RECORDING_STOPPED },
        { "storage_error", WORD_STORAGE_ERROR },
        { "model_mismatch", WORD_MODEL_MISMATCH },
        { "auth_failed", WORD_AUTH_FAILED },
        { "identity_mismatch", WORD_IDENTITY_MISMATCH },
        { "snmp_auth_failed", WORD_SNMP_AUTH_FAILED },
        { "device_swapped", WORD_DEVICE_SWAPPED },
        { "vpn_overload", WORD_VPN_OVERLOAD },
        { "vpn_temperature", WORD_VPN_TEMPERATURE },
        { "vpn_alarm", WORD_VPN_ALARM },
        { "camera_tampered", WORD_CAMERA_TAMPERED },
        { "degraded", WORD_DEGRADED },
        { "anomaly", WORD_ANOMALY },
        { "housing_damaged", WORD_HOUSING_DAMAGED },
        { "lens_misaligned", WORD_LENS_MISALIGNED },
        { "reported", WORD_REPORTED },
        { "quarterly_report", WORD_QUARTERLY_REPORT },
        { "annual_plan", WORD_ANNUAL_PLAN },
        { "completion_notice", WORD_COMPLETION_NOTICE },
        { "recovery_report", WORD_RECOVERY_REPORT },
        { "erasure_report", WORD_ERASURE_REPORT },
        { "archive", WORD_ARCHIVE },
};

/* The last part of a device id. */
static const struct {
        const char *suffix;
        Word word;
} devices[] = {
        { "camera", WORD_CAMERA },
        { "router", WORD_LTE_ROUTER },
        { "tunnel", WORD_VPN_TUNNEL },
        { "vpn", WORD_VPN_ROUTER },
};

const char *word(Word w, Language l) {
        if (w < 0 || w >= _WORD_MAX)
                return NULL;
        return l == LANGUAGE_JA ? words[w].ja : words[w].en;
}

char *word_capitalized(Word w, Language l, char buf[static WORD_MAX]) {
        (void) snprintf(buf, WORD_MAX, "%s", word(w, l) ?: "");
        if (buf[0] >= 'a' && buf[0] <= 'z')
                buf[0] = (char) (buf[0] - 'a' + 'A');
        return buf;
}

Word word_from_kind(const char *kind) {
        for (size_t i = 0; kind && i < ELEMENTSOF(kinds); i++)
                if (streq(kind, kinds[i].kind))
                        return kinds[i].word;
        return _WORD_INVALID;
}

Word word_from_device(const char *device) {
        const char *dash = device ? strrchr(device, '-') : NULL;
        const char *suffix = dash ? dash + 1 : device;

        for (size_t i = 0; suffix && i < ELEMENTSOF(devices); i++)
                if (streq(suffix, devices[i].suffix))
                        return devices[i].word;
        return _WORD_INVALID;
}

const char *words_kind(const char *kind, Language l) {
        return word(word_from_kind(kind), l);
}

const char *words_device(const char *device, Language l) {
        return word(word_from_device(device), l);
}
