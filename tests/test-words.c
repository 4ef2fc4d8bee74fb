/* SPDX-License-Identifier: MIT */

/* The one ja/en table of nouns (words.h): every Word has both languages,
 * every kind the engine, the operators and the deliverables use has its
 * words, device ids find theirs, and the callers' wrappers agree. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "clocks.h"
#include "fault.h"
#include "macro.h"
#include "words.h"

static void test_every_word(void **state) {
        char buf[WORD_MAX];

        (void) state;
        for (Word w = 0; w < _WORD_MAX; w++) {
                assert_non_null(word(w, LANGUAGE_JA));
                assert_non_null(word(w, LANGUAGE_EN));
                assert_true(strlen(word(w, LANGUAGE_JA)) < WORD_MAX);
                assert_true(strlen(word(w, LANGUAGE_EN)) < WORD_MAX);
                assert_string_not_equal(word(w, LANGUAGE_JA), word(w, LANGUAGE_EN));
                assert_string_equal(word_capitalized(w, LANGUAGE_JA, buf), word(w, LANGUAGE_JA));
        }
        assert_null(word(_WORD_MAX, LANGUAGE_JA));
        assert_null(word(_WORD_INVALID, LANGUAGE_EN));
        assert_string_equal(word_capitalized(WORD_RECOVERY_REPORT, LANGUAGE_EN, buf),
                            "Fault recovery report");
}

static void test_kinds(void **state) {
        static const char *const kinds[] = {
                "camera_down", "router_down", "tunnel_down", "vpn_down", "site_down",
                "lte_weak", "wan_down", "clock_skew", "recording_stopped", "storage_error",
                "model_mismatch", "auth_failed", "identity_mismatch", "snmp_auth_failed",
                "device_swapped", "vpn_overload", "vpn_temperature", "vpn_alarm",
                "camera_tampered", "degraded", "anomaly", "housing_damaged", "lens_misaligned",
                "reported",
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                assert_true(word_from_kind(kinds[i]) >= 0);
                assert_ptr_equal(fault_kind_word(kinds[i], true),
                                 words_kind(kinds[i], LANGUAGE_JA));
                assert_ptr_equal(fault_kind_word(kinds[i], false),
                                 words_kind(kinds[i], LANGUAGE_EN));
        }
        /* Every deliverable of the contract has its noun. */
        for (DeadlineKind k = 0; k < _DEADLINE_KIND_MAX; k++)
                assert_non_null(words_kind(deadline_kind_to_string(k), LANGUAGE_JA));
        assert_string_equal(words_kind("camera_down", LANGUAGE_JA), "カメラ応答なし");
        assert_string_equal(words_kind("degraded", LANGUAGE_EN), "degraded");
        assert_int_equal(word_from_kind("degraded"), WORD_DEGRADED);
        assert_int_equal(word_from_kind("no_such_kind"), _WORD_INVALID);
        assert_int_equal(word_from_kind(""), _WORD_INVALID);
        assert_int_equal(word_from_kind(NULL), _WORD_INVALID);
        assert_null(fault_kind_word("no_such_kind", true));
}

static void test_devices(void **state) {
        (void) state;
        assert_int_equal(word_from_device("05-camera"), WORD_CAMERA);
        assert_int_equal(word_from_device("05-router"), WORD_LTE_ROUTER);
        assert_int_equal(word_from_device("05-tunnel"), WORD_VPN_TUNNEL);
        assert_int_equal(word_from_device("vpn"), WORD_VPN_ROUTER);
        assert_int_equal(word_from_device("a-b-camera"), WORD_CAMERA);
        assert_int_equal(word_from_device("05-site"), _WORD_INVALID);
        assert_int_equal(word_from_device(""), _WORD_INVALID);
        assert_int_equal(word_from_device(NULL), _WORD_INVALID);
        assert_string_equal(words_device("07-router", LANGUAGE_JA), "LTEルーター");
        assert_string_equal(words_device("vpn", LANGUAGE_EN), "VPN router");
        assert_null(words_device("05-cameras", LANGUAGE_EN));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_word),
                cmocka_unit_test(test_kinds),
                cmocka_unit_test(test_devices),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
