# SPDX-License-Identifier: MIT
"""Cameras as an outsider measures with: one nginx answering the ONVIF operations
fieldwatchd uses on many loopback addresses, like a real camera would.

- GetSystemDateAndTime (liveness, PRE_AUTH as ONVIF has it): the camera's clock,
  fresh at every answer (UTCDateTime from nginx's $time_iso8601, nginx run with
  TZ=UTC; LocalDateTime the same with TZ "UTC0").
- GetServices (PRE_AUTH): the device and search services at the address and port
  the request came to.
- GetDeviceInformation, GetRecordingSummary and the i-PRO CGI
  /cgi-bin/getinfo?FILE=1 (the SD card's state): HTTP Digest as the cameras do it:
  a request without an Authorization header gets 401 with a fresh Digest
  challenge (qop=auth, the nonce nginx's $request_id), so the prober pays the
  round trip, a new connection and the response computation a real camera costs
  it. nginx has no Digest module in Debian, so the response is not verified:
  any `Authorization: Digest ...` is accepted (the server's side of Digest is no
  cost of the prober's). DataUntil is the fresh time, so the recording is current.
- A fresh connection per request (keepalive_timeout 0: `Connection: close`), as a
  camera probed every 60 s would have closed an idle one anyway. A deep cycle's five
  requests then take five connections: the dearest camera. FW_BENCH_CAMERA_KEEPALIVE=S
  in the environment keeps an idle connection S seconds instead, as a camera whose web
  server does HTTP/1.1 keep-alive: a deep cycle on one connection.

One process (master_process off), so its PID is the server; the access log has a
line per request: `MSEC cam=ADDRESS op=OPERATION status=STATUS rt=SECONDS`, from
which the bench counts probes and reads when each started.
"""

import collections
import os
import re

NGINX = "/usr/sbin/nginx"
# Seconds an idle connection is kept (0: `Connection: close` after every answer).
KEEPALIVE = int(os.environ.get("FW_BENCH_CAMERA_KEEPALIVE", "0"))

ENVELOPE_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"'
    ' xmlns:tds="http://www.onvif.org/ver10/device/wsdl"'
    ' xmlns:tt="http://www.onvif.org/ver10/schema"'
    ' xmlns:tse="http://www.onvif.org/ver10/search/wsdl"><env:Body>')
ENVELOPE_TAIL = '</env:Body></env:Envelope>'

DATE_TIME = ('<tt:Time><tt:Hour>$fw_hh</tt:Hour><tt:Minute>$fw_mi</tt:Minute>'
             '<tt:Second>$fw_ss</tt:Second></tt:Time><tt:Date><tt:Year>$fw_yy</tt:Year>'
             '<tt:Month>$fw_mo</tt:Month><tt:Day>$fw_dd</tt:Day></tt:Date>')

BODIES = {
    "time": (
        '<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>'
        '<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>'
        '<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>'
        '<tt:UTCDateTime>' + DATE_TIME + '</tt:UTCDateTime>'
        '<tt:LocalDateTime>' + DATE_TIME + '</tt:LocalDateTime>'
        '</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>'),
    "services": (
        '<tds:GetServicesResponse>'
        '<tds:Service><tds:Namespace>http://www.onvif.org/ver10/device/wsdl</tds:Namespace>'
        '<tds:XAddr>http://$server_addr:$server_port/onvif/device_service</tds:XAddr>'
        '<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>'
        '<tds:Service><tds:Namespace>http://www.onvif.org/ver10/search/wsdl</tds:Namespace>'
        '<tds:XAddr>http://$server_addr:$server_port/onvif/search_service</tds:XAddr>'
        '<tds:Version><tt:Major>2</tt:Major><tt:Minor>42</tt:Minor></tds:Version></tds:Service>'
        '</tds:GetServicesResponse>'),
    "devinfo": (
        '<tds:GetDeviceInformationResponse><tds:Manufacturer>i-PRO</tds:Manufacturer>'
        '<tds:Model>WV-S2536LNUX</tds:Model><tds:FirmwareVersion>2.30</tds:FirmwareVersion>'
        '<tds:SerialNumber>NGX-$server_addr</tds:SerialNumber>'
        '<tds:HardwareId>WV-S2536LNUX</tds:HardwareId></tds:GetDeviceInformationResponse>'),
    "recording": (
        '<tse:GetRecordingSummaryResponse><tse:Summary>'
        '<tt:DataFrom>2020-01-01T00:00:00Z</tt:DataFrom>'
        '<tt:DataUntil>${fw_yy}-${fw_mo}-${fw_dd}T${fw_hh}:${fw_mi}:${fw_ss}Z</tt:DataUntil>'
        '<tt:NumberRecordings>1</tt:NumberRecordings>'
        '</tse:Summary></tse:GetRecordingSummaryResponse>'),
}

# The i-PRO CGI the deep check reads the SD card's state from (Digest only).
GETINFO = ("\n<HTML>\nMAC=00:80:45:00:00:01\nSERIAL=NGX-$server_addr\nVERSION=2.30\n"
           "NAME=WV-S2536LNUX\nSDrec=enable\nSDrec2=disable\nsAlarm=OFF\nsAUX=off\n"
           "StreamMode=1\nPRODUCT_NAME=WV-S2536LNUX\nDESTINATION=P\n</HTML>\n")

LOG_LINE = re.compile(r"^([\d.]+) cam=(\S+) op=(\S+) status=(\d+) rt=([\d.]+)$")


def _quote(text):
    # nginx string literal in single quotes: escape backslashes and quotes.
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def config_text(listen, work, access_log):
    """listen: [(address, port)], all loopback."""
    for a, _ in listen:
        if not a.startswith("127."):
            raise ValueError("not a loopback address: %s" % a)
    out = [
        "# nginx.conf for fieldwatch's bench: cameras as an outsider measures with",
        "daemon off;",
        "master_process off;",
        "worker_processes 1;",
        "worker_rlimit_nofile %d;" % (4 * len(listen) + 1024),
        "pid %s;" % os.path.join(work, "nginx.pid"),
        "error_log %s warn;" % os.path.join(work, "nginx.error.log"),
        "events { worker_connections %d; multi_accept on; }" % (2 * len(listen) + 1024),
        "http {",
        "    client_body_temp_path %s;" % os.path.join(work, "body"),
        "    proxy_temp_path %s;" % os.path.join(work, "proxy"),
        "    fastcgi_temp_path %s;" % os.path.join(work, "fastcgi"),
        "    uwsgi_temp_path %s;" % os.path.join(work, "uwsgi"),
        "    scgi_temp_path %s;" % os.path.join(work, "scgi"),
        "    keepalive_timeout %d;" % KEEPALIVE,
        "    server_tokens off;",
        "    client_max_body_size 64k;",
        "    default_type 'application/soap+xml; charset=utf-8';",
        "    log_format fw '$msec cam=$server_addr op=$fw_op status=$status rt=$request_time';",
        "    access_log %s fw;" % access_log,
    ]
    for var, rx in (("fw_yy", r"^(?<v>\d+)-"), ("fw_mo", r"^\d+-(?<v>\d+)-"),
                    ("fw_dd", r"^\d+-\d+-(?<v>\d+)T"), ("fw_hh", r"T(?<v>\d+):"),
                    ("fw_mi", r"T\d+:(?<v>\d+):"), ("fw_ss", r"T\d+:\d+:(?<v>\d+)")):
        out.append('    map $time_iso8601 $%s { default 0; "~%s" $v; }' % (var, rx))
    out += [
        # The operation from the SOAP 1.2 action parameter; a request without one
        # (the shared floor, blackbox_exporter, check_http send none) is taken
        # for GetSystemDateAndTime, the only operation those send.
        "    map \"$uri $http_content_type\" $fw_op {",
        "        default GetSystemDateAndTime;",
        '        "~^/cgi-bin/getinfo " getinfo;',
        '        "~/GetSystemDateAndTime\\"" GetSystemDateAndTime;',
        '        "~/GetServices\\"" GetServices;',
        '        "~/GetDeviceInformation\\"" GetDeviceInformation;',
        '        "~/GetRecordingSummary\\"" GetRecordingSummary;',
        '        "~action=" other;',
        "    }",
        "    map $http_authorization $fw_digest { default 0; \"~^Digest \" 1; }",
        "    map $fw_op:$fw_digest $fw_route {",
        "        default bad;",
        "        GetSystemDateAndTime:0 time; GetSystemDateAndTime:1 time;",
        "        GetServices:0 services; GetServices:1 services;",
        "        GetDeviceInformation:0 auth; GetDeviceInformation:1 devinfo;",
        "        GetRecordingSummary:0 auth; GetRecordingSummary:1 recording;",
        "    }",
        "    server {",
    ]
    out += ["        listen %s:%d;" % (a, p) for a, p in listen]
    out.append("        location = /onvif/device_service {")
    out += _routes(("time", "services", "devinfo"))
    out.append("        }")
    out.append("        location = /onvif/search_service {")
    out += _routes(("recording",))
    out.append("        }")
    out += [
        "        location = /cgi-bin/getinfo {",
        "            default_type 'text/html';",
        "            if ($request_method != GET) { return 405; }",
        "            if ($fw_digest = 0) {",
        "                add_header WWW-Authenticate 'Digest realm=\"fieldwatch-bench\", "
        "qop=\"auth\", nonce=\"$request_id\", algorithm=MD5' always;",
        "                return 401;",
        "            }",
        "            return 200 %s;" % _quote(GETINFO),
        "        }",
        "        location / { return 404; }", "    }", "}"]
    return "\n".join(out) + "\n"


def _routes(names):
    out = ["            if ($request_method != POST) { return 405; }",
           "            if ($fw_route = auth) {",
           "                add_header WWW-Authenticate 'Digest realm=\"fieldwatch-bench\", "
           "qop=\"auth\", nonce=\"$request_id\", algorithm=MD5' always;",
           "                return 401;",
           "            }"]
    for name in names:
        out.append("            if ($fw_route = %s) { return 200 %s; }"
                   % (name, _quote(ENVELOPE_HEAD + BODIES[name] + ENVELOPE_TAIL)))
    out.append("            return 400;")
    return out


def prepare(listen, work, access_log):
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(config_text(listen, work, access_log))
    return conf


def argv(conf, work):
    return [NGINX, "-p", work, "-c", conf, "-e", os.path.join(work, "nginx.error.log")]


class AccessLog:
    """Counts and starts from the access log, read on from where it was."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.requests = 0
        self.ops = collections.Counter()   # (operation, status) -> requests

    @property
    def liveness(self):
        """GetSystemDateAndTime requests answered with 200."""
        return self.ops[("GetSystemDateAndTime", "200")]

    def size(self):
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def count(self):
        """(GetSystemDateAndTime answered with 200, all requests) so far."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return self.liveness, self.requests
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].split(b"\n"):
            if not line:
                continue
            self.requests += 1
            m = LOG_LINE.match(line.decode("utf-8", "replace"))
            if m:
                self.ops[(m.group(3), m.group(4))] += 1
        return self.liveness, self.requests


def starts(path, begin, end):
    """{camera address: [request start, unix seconds]} of the liveness requests
    between two byte offsets of the access log."""
    out = {}
    with open(path, "rb") as f:
        f.seek(begin)
        data = f.read(max(0, end - begin)).decode("utf-8", "replace")
    for line in data.splitlines():
        m = LOG_LINE.match(line)
        if not m or m.group(3) != "GetSystemDateAndTime":
            continue
        out.setdefault(m.group(2), []).append(float(m.group(1)) - float(m.group(5)))
    return out
