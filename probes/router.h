/* SPDX-License-Identifier: MIT */
#pragma once

/* The SNMP probes (SPEC §3): the sites' LTE routers (RX220) and the VPN
 * router (RTX1220). Each cycle is one GET (the RTX1220's tunnels: a few),
 * asynchronous through snmp.c, its session on the SNMP engine given.
 *
 *   router  sysUpTime (a decrease is a reboot, the 32-bit wrap aside), the
 *           WAN ifOperStatus, the configured LTE signal OIDs with thresholds;
 *   vpn     sysUpTime, yrIfTunnelLink.<n> of every site's tunnel, CPU,
 *           memory, temperature and the alarm LED with thresholds. */

#include <stdbool.h>

#include "config.h"
#include "macro.h"
#include "probe.h"
#include "snmp.h"

/* The Yamaha private MIB (yamaha-rt-hardware.mib, yamaha-rt-interfaces.mib). */
#define OID_SYS_UPTIME "1.3.6.1.2.1.1.3.0"
#define OID_SYS_NAME "1.3.6.1.2.1.1.5.0"
#define OID_IF_OPER_STATUS "1.3.6.1.2.1.2.2.1.8"
#define OID_YR_TUNNEL_LINK "1.3.6.1.4.1.1182.2.3.16.1.2"
#define OID_YRH_CPU_5SEC "1.3.6.1.4.1.1182.2.1.5.0"
#define OID_YRH_MEMORY "1.3.6.1.4.1.1182.2.1.4.0"
#define OID_YRH_TEMPERATURE "1.3.6.1.4.1.1182.2.1.15.0"
#define OID_YRH_ALARM "1.3.6.1.4.1.1182.2.1.16.0"

typedef struct RouterProbe RouterProbe;

typedef struct RouterProbeConf {
        SnmpTarget target;
        uint32_t wan_ifindex;
        const SignalConf *signals;   /* borrowed: must outlive the probe */
        size_t n_signals;            /* at most PROBE_SIGNALS_MAX */
        const char *sys_name;        /* the sysName it must answer with; NULL: not asked */
} RouterProbeConf;

typedef struct VpnProbeConf {
        SnmpTarget target;
        const uint32_t *tunnels;     /* tunnel number per site, in site order; copied */
        size_t n_tunnels;
        unsigned max_cpu, max_memory;
        int max_temperature;
} VpnProbeConf;

int router_probe_new(SnmpEngine *snmp, const RouterProbeConf *conf, ProbeDoneFn done,
                     void *userdata, RouterProbe **ret, char err[static SNMP_ERROR_MAX]);

/* The VPN router's probe: the same object, with the RTX1220's checks. */
int vpn_probe_new(SnmpEngine *snmp, const VpnProbeConf *conf, ProbeDoneFn done, void *userdata,
                  RouterProbe **ret, char err[static SNMP_ERROR_MAX]);

/* Cancels a running cycle (no callback) and frees. NULL-safe. */
RouterProbe *router_probe_free(RouterProbe *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(RouterProbe *, router_probe_free);

/* Starts a cycle; -EBUSY while one runs. done is called once per cycle. */
int router_probe_start(RouterProbe *p);

bool router_probe_running(const RouterProbe *p);

/* Whether a trap's community is this router's (snmp_session_community_is). */
bool router_probe_community_is(const RouterProbe *p, const char *community);
