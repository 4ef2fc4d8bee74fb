/* SPDX-License-Identifier: MIT */

/* fieldwatchctl: the operator's tool (SPEC §6). A thin dispatcher; the
 * commands live in ctl-*.c. */

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "macro.h"

static const struct {
        const char *name;
        CtlCommand run;
        const char *args;
        const char *help;
} commands[] = {
        { "check-config", ctl_check_config, "[--json]",
          "validate the configuration; errors name file:line:column" },
        { "sites", ctl_sites, "[--json]", "list the configured sites" },
        { "status", ctl_status, "[--json]",
          "every device: state, last probe, latency, reason, key values" },
        { "faults", ctl_faults, "[--open] [--json]", "the faults, with their contract clocks" },
        { "events", ctl_events, "[--since ID] [--limit N] [--json]",
          "the event history: the last N (100) events, or the first N after event ID" },
        { "ack", ctl_ack, "FAULT --by NAME [--note TEXT]",
          "acknowledge a fault: no more re-notification" },
        { "onsite", ctl_onsite, "FAULT --by NAME [--at TIME]",
          "onsite work started: the onsite clock stops" },
        { "defer", ctl_defer, "FAULT --approved-by NAME [--reason TEXT] [--at TIME]",
          "the supervisor approved a next-morning visit" },
        { "recover", ctl_recover,
          "FAULT --by NAME --cause TEXT --action TEXT [--prevention TEXT] [--parts MODEL,...]\n"
          "        [--media-replaced] [--remote] [--temporary] [--loaner MODEL] [--at TIME]\n"
          "        [--start TIME]",
          "recovery work done: the report clocks start" },
        { "report-submitted", ctl_report_submitted,
          "FAULT --kind recovery|erasure [--by NAME]\n"
          "        | --kind quarterly_report|annual_plan|completion_notice|archive --due DATE\n"
          "        | --kind archive --fiscal-year YEAR",
          "a report was handed in" },
        { "work", ctl_work,
          "add --start T --end T --by NAME --title T --content T [--notes T] [--fault ID]\n"
          "        | edit ID --by NAME [--title T] [--content T] [--notes T] [--start T] [--end T]",
          "record work (inspection, preventive replacement, ...), or correct a record" },
        { "parts", ctl_parts,
          "quote FAULT --parts MODEL,... --amount YEN --by NAME [--note T]\n"
          "        | approved FAULT --by NAME [--note T]",
          "paid parts (有償交換部品): the quote, then the city's approval, before the recovery" },
        { "close", ctl_close, "FAULT --by NAME --note TEXT",
          "close a transient fault that needs no visit" },
        { "receive", ctl_receive, "FAULT --from NAME --by NAME [--at TIME]",
          "the fault call was received (sla.reception: call): the fault's clocks start" },
        { "open", ctl_open,
          "--site ID --device camera|router|vpn|site --kind KIND --by NAME --note TEXT\n"
          "        [--received-at TIME]",
          "a fault reported by phone that no probe sees (a broken housing, a tilted lens);\n"
          "      it stays open until its recovery" },
        { "anomalies", ctl_anomalies, "[--json]",
          "the anomalies to investigate, with their investigations and escalations" },
        { "investigate", ctl_investigate, "ANOMALY --by NAME --note TEXT [--at TIME]",
          "record the investigation of an anomaly" },
        { "escalate", ctl_escalate, "ANOMALY --by NAME [--note TEXT] [--received-at TIME]",
          "a reproduced anomaly becomes a fault with its own clocks (障害として対応)" },
        { "report", ctl_report,
          "quarterly YYYYQn | fault ID | erasure ID | availability --month YYYY-MM | sla YYYYQn\n"
          "        | incidents --from DATE --to DATE | disposal [ID]\n"
          "        [--format md|html|csv (json: incidents)] [--lang ja|en] [--output FILE]",
          "the contract's reports (作業実績報告書, 障害復旧作業報告書, データ消去報告書),\n"
          "      availability and the onsite response clock; YYYYQn is a calendar quarter\n"
          "      (Q1 = January–March, ..., Q4 = October–December), FYYYYYQn a fiscal one\n"
          "      (FY2026Q1 = April–June 2026, the reports' 令和8年度 第1四半期), clipped to the contract\n"
          "      period; Markdown by default, CSV in UTF-8 with a BOM; the language is\n"
          "      notify.language unless --lang; --output writes the file atomically" },
        { "handover", ctl_handover, "--output DIR [--lang ja|en]",
          "the contract's end: every fault, event, work record and report (CSV and JSON)\n"
          "      and the configuration (no secret is in it) into a new or empty DIR, with SHA256SUMS" },
        { "purge", ctl_purge, "--confirm [--by NAME] [--format md|html] [--lang ja|en] [--output FILE]",
          "after handover, with fieldwatchd stopped and no fault open: erase the names, notes\n"
          "      and mails in the database (secure_delete, VACUUM) and the credentials directory\n"
          "      (overwritten, unlinked), record the disposal and print its report (別記2 第12条)" },
        { "archive", ctl_archive,
          "--fiscal-year YEAR --output DIR [--scans DIR] [--plan FILE]... [--iso FILE]\n"
          "        [--lang ja|en]",
          "the fiscal year's deliverables 1-4 for the CD-R (L271-277): HTML and CSV per\n"
          "      report, index.html, SHA256SUMS; the signed erasure reports' scans from\n"
          "      --scans (matched by fault id); --iso writes an ISO 9660 image (xorriso)" },
        { "trap", ctl_trap, "",
          "snmptrapd's traphandle: hands the notification on standard input to fieldwatchd,\n"
          "      which probes its sender at once (a hint; the probe decides)" },
        { "snmptrapd-conf", ctl_snmptrapd_conf, "--output FILE [--handler PATH]",
          "write the snmptrapd.conf lines for fieldwatch (mode 0600: SNMPv3 users)" },
        { "holidays", ctl_holidays, "YEAR [--json]", "the national holidays of YEAR" },
        { "sla", ctl_sla, "DETECTED_AT [--recovered-at T] [--json]",
          "the contract clocks of a fault detected at DETECTED_AT" },
        { "deadlines", ctl_deadlines, "[--from DATE] [--to DATE] [--json]",
          "the contract's deliverables due in a range (default: the coming year)" },
};

static void help(FILE *f) {
        fprintf(f,
                "Usage: fieldwatchctl [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
                "Operate fieldwatch, the street camera and network monitor.\n\n"
                "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %s %s\n      %s\n", commands[i].name, commands[i].args,
                        commands[i].help);
        fprintf(f,
                "\nGlobal options (before or after the command):\n"
                "  --config FILE           configuration (default " CONFIG_DEFAULT_PATH ")\n"
                "  --state-dir DIR         state directory (default $STATE_DIRECTORY, "
                "else " STATE_DIR_DEFAULT ")\n"
                "  --credentials-dir DIR   secrets (default $CREDENTIALS_DIRECTORY, "
                "else " CREDENTIALS_DIR_DEFAULT ")\n"
                "  --runtime-dir DIR       where fieldwatchd's control socket is (default\n"
                "                          $RUNTIME_DIRECTORY, else " RUNTIME_DIR_DEFAULT ")\n"
                "  --pretend-now TIME      run the clock from TIME (ISO 8601), for drills\n"
                "  -h, --help              show this help\n"
                "  --version               show the version\n\n"
                "Times without an offset are contract time (Asia/Tokyo by default).\n"
                "Exit status: 0 success, 1 failure, 2 wrong usage.\n");
}

int main(int argc, char **argv) {
        char err[512];
        GlobalOptions g;

        (void) setlocale(LC_ALL, "C.UTF-8");
        if (cli_take_global_options(&argc, argv, &g, err, sizeof(err)) < 0) {
                fprintf(stderr, "fieldwatchctl: %s\nTry 'fieldwatchctl --help'.\n", err);
                return CTL_EXIT_USAGE;
        }
        if (g.help) {
                help(stdout);
                return CTL_EXIT_OK;
        }
        if (g.version) {
                printf("fieldwatchctl " FIELDWATCH_VERSION "\n");
                return CTL_EXIT_OK;
        }
        if (argc < 2) {
                help(stderr);
                return CTL_EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(argv[1], commands[i].name))
                        return commands[i].run(&g, argc - 1, argv + 1);
        fprintf(stderr, "fieldwatchctl: unknown command '%s'\n\n", argv[1]);
        help(stderr);
        return CTL_EXIT_USAGE;
}
