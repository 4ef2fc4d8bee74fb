#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Simulated i-PRO WV-S2536LNUX cameras (ONVIF and i-PRO CGI) for fieldwatch's tests.

One process serves many cameras. Each camera listens on its own loopback
address:port (127.0.2.1:18080 ... or up to 10,000 addresses 127.x.y.z for the
benchmark). Everything runs on one asyncio event loop with a small HTTP/1.1
server written here, so a silent, slow or streaming camera never delays another
camera or the control API. Standard library only (Debian's /usr/bin/python3).
Device facts come from /work/shared/DEVICES.md sections A and B; choices the
sources leave open are marked [choice] below.

USAGE

  /usr/bin/python3 tests/sim/onvif_sim.py --cameras CAMERAS.json \\
      --control 127.0.0.1:PORT [--ready-file PATH] [--log PATH] \\
      [--idle-timeout 30] [--nonce-lifetime 300] [--wsse-tolerance 5]

  --control PORT may be 0: the real port is then in the ready file.
  --idle-timeout   seconds a keep-alive connection may sit idle, and the most
                   a request may take to arrive once begun (default 30).
  --nonce-lifetime seconds an HTTP Digest nonce stays valid (default 300);
                   after that the camera answers 401 with stale=true.
  --wsse-tolerance seconds a UsernameToken's Created may differ from the
                   CAMERA's clock, either way (default 5, like the strict
                   cameras reported in DEVICES.md A5).

  Exit status: 0 after SIGTERM or SIGINT; 1 when a listener cannot be bound;
  2 for bad usage or a bad camera file. RLIMIT_NOFILE is raised to its hard
  limit at start. Only addresses in 127.0.0.0/8 are accepted (others: exit 2).
  Secrets (passwords, Authorization headers, SOAP bodies) are never printed or
  logged.

CAMERAS.json is a list of objects:
  {"id": "01", "address": "127.0.2.1", "port": 18080,
   "username": "admin", "password": "secret",
   "auth": "digest" | "wsse" | "any",            default "any"
   "model": "WV-S2536LNUX", "manufacturer": "i-PRO", "firmware": "2.30",
   "serial": "SIM0000001" (default "SIM" + id padded to 7 characters),
   "hardware_id": (default: the model), "mac": "BC-C3-42-xx-xx-xx" (default
   derived from id), "realm": "i-PRO Network Camera" [choice: the real realm
   is unknown], "digest_algorithms": ["MD5", "SHA-256"] (challenge order;
   MD5, SHA-256, MD5-sess, SHA-256-sess),
   "tls": {"cert": PATH, "key": PATH} (optional: the camera speaks HTTPS on its
   address:port, presenting the PEM certificate chain PATH, whatever it is:
   tests bring right, self-signed, expired or wrongly named ones; XAddrs then
   say https),
   "events": true | false (default true; false: a camera without an event
   service), "event_topics": [topic, ...] (default: the eight below; names
   like "tns1:VideoSource/GlobalSceneChange/ImagingService", prefixes tns1
   and tnsipro1 only), "max_pullpoints": N (default 6, the i-PRO's limit),
   "keepalive": SECONDS (how long an idle connection stays open after an
   answer; default --idle-timeout: real cameras' web servers keep one 5-30 s)}
  Port 0 binds an ephemeral port (reported in the ready file and the API) that
  the camera keeps for the life of the process. Unknown keys are an error.

The ready file is written atomically (temp file + rename) once every listener
is bound: {"pid": N, "control": "127.0.0.1:PORT",
           "cameras": [{"id": "01", "address": "127.0.2.1", "port": 18080,
                        "tls": false}, ...]}

WHAT A CAMERA SERVES

  POST /onvif/device_service   SOAP 1.2 (tds)
    GetSystemDateAndTime  PRE_AUTH. tt:DateTimeType NTP, DaylightSavings false,
                          TimeZone/TZ "JST-9", UTCDateTime and LocalDateTime
                          (UTC+9), each tt:Time(Hour,Minute,Second) +
                          tt:Date(Year,Month,Day), from the camera's clock
                          (real time + clock_skew).
    GetServices           PRE_AUTH. The device, event (unless "events": false)
                          and search services, XAddr http://ADDR:PORT/onvif/...,
                          with tds:Capabilities when IncludeCapability is true
                          (Security UsernameToken / HttpDigest follow the
                          camera's "auth" setting; tev:Capabilities
                          WSPullPointSupport="true" MaxPullPoints=N).
    GetDeviceInformation  READ_SYSTEM. tds:Manufacturer, Model, FirmwareVersion,
                          SerialNumber, HardwareId.
  POST /onvif/search_service   SOAP 1.2 (tse)
    GetRecordingSummary   READ_MEDIA. tse:Summary with tt:DataFrom, tt:DataUntil
                          (xs:dateTime UTC like 2026-11-25T05:00:00Z, camera
                          clock) and tt:NumberRecordings (1 normally).
                          DataUntil = camera now - recording_lag; DataFrom =
                          DataUntil - 14 days.
  POST /onvif/event_service    SOAP 1.2 (tev), the event service
    GetServiceCapabilities  PRE_AUTH. tev:Capabilities as in GetServices.
    GetEventProperties    READ_MEDIA. tev:TopicNamespaceLocation,
                          wsnt:FixedTopicSet true, wstop:TopicSet, two
                          wsnt:TopicExpressionDialect (ConcreteSet, Concrete),
                          tev:MessageContentFilterDialect,
                          tev:MessageContentSchemaLocation. In the TopicSet the
                          root topic element is prefixed (<tns1:VideoSource>),
                          its children are unprefixed elements in no
                          namespace (<GlobalSceneChange>), as in ONVIF Core's
                          examples, except a segment with its own prefix
                          (<tnsipro1:SD>); a topic's element has
                          wstop:topic="true" and a tt:MessageDescription
                          (IsProperty="true" for properties) with
                          tt:Source / tt:Data tt:SimpleItemDescription
                          Name/Type. Default topics, Source item = default,
                          Data item = default:
                            tns1:VideoSource/GlobalSceneChange/ImagingService,
                            .../ImageTooDark/ImagingService,
                            .../ImageTooBlurry/ImagingService,
                            .../ImageTooBright/ImagingService
                                 property, Source=1, State=false (xs:boolean)
                            tns1:Device/HardwareFailure/StorageFailure
                                 property, Token=SD1, Failed=false
                            tns1:RecordingConfig/JobState
                                 property, RecordingJobToken=RecordingJob1,
                                 State=Active
                            tns1:RecordingHistory/Recording/State
                                 property, RecordingToken=Recording1,
                                 IsRecording=true
                            tns1:Device/tnsipro1:SD/Capacity/Decreased
                                 not a property, RemainingCapacity=10 [U: the
                                 real items are not public]
                          Other configured topics: not properties, no items.
    CreatePullPointSubscription  READ_MEDIA. Optional tev:Filter with
                          wsnt:TopicExpression (Dialect ConcreteSet: topics
                          joined by "|", "TOPIC//." for a subtree; or
                          Concrete: one topic; prefixes resolved through the
                          request's namespace declarations, an undeclared
                          tns1: or tnsipro1: taken as the usual one), optional
                          tev:InitialTerminationTime (xs:duration, relative:
                          each PullMessages then moves the termination to
                          pull time + that duration, a waiting pull keeping it
                          alive; or xs:dateTime with a zone, absolute: fixed;
                          default PT60S relative; at most 1 day ahead, else
                          wsnt:UnacceptableInitialTerminationTimeFault),
                          optional tev:SubscriptionPolicy/tev:ChangedOnly.
                          Answers tev:SubscriptionReference/wsa:Address
                          http://ADDR:PORT/onvif/Subscription?Idx=N (the
                          i-PRO's form, DEVICES.md A1; N counts up for the
                          process's life, never reused), wsnt:CurrentTime,
                          wsnt:TerminationTime (camera clock). Unless
                          ChangedOnly, the new subscription's queue starts
                          with one PropertyOperation="Initialized" message per
                          property (its current state: the default, or the
                          last injected). Past max_pullpoints live
                          subscriptions: 500 env:Receiver/
                          wsnt:SubscribeCreationFailedFault.
    other tev operations (Seek, ...): 500 ter:ActionNotSupported; with
    "events": false every operation here and below answers that.
  POST /onvif/Subscription?Idx=N  SOAP 1.2, one PullPoint subscription
    PullMessages          READ_MEDIA. tev:Timeout (xs:duration, at most
                          PT60S) and tev:MessageLimit (1..100), else 400
                          env:Sender/ter:InvalidArgVal (too large: with
                          env:Detail/tev:PullMessagesFaultResponse/
                          tev:MaxTimeout PT60S, tev:MaxMessageLimit 100).
                          Long poll: answers at once when messages are
                          queued, else as soon as one is, else at Timeout
                          (an empty list). tev:PullMessagesResponse:
                          tev:CurrentTime, tev:TerminationTime, then up to
                          MessageLimit wsnt:NotificationMessage, oldest
                          first: wsnt:SubscriptionReference/wsa:Address,
                          wsnt:Topic Dialect=".../tev/topicExpression/
                          ConcreteSet" (text: the topic, a QName path whose
                          prefixes tns1/tnsipro1 the envelope declares),
                          wsnt:ProducerReference/wsa:Address (the event
                          service), wsnt:Message/tt:Message UtcTime=
                          "YYYY-MM-DDThh:mm:ssZ" (camera clock)
                          PropertyOperation="Initialized|Changed|Deleted"
                          (properties only) with tt:Source/tt:SimpleItem and
                          tt:Data/tt:SimpleItem Name= Value=. A queue keeps
                          at most 1000 messages (older ones dropped).
    SetSynchronizationPoint  READ_MEDIA. Queues the Initialized messages again.
    wsnt:Renew            READ_MEDIA. wsnt:TerminationTime (duration or
                          dateTime as above; else 400 env:Sender/
                          wsnt:UnacceptableTerminationTimeFault) ->
                          wsnt:RenewResponse: wsnt:TerminationTime,
                          wsnt:CurrentTime.
    wsnt:Unsubscribe      READ_MEDIA. -> wsnt:UnsubscribeResponse (empty).
    A subscription that is unknown, unsubscribed, expired (TerminationTime
    reached, camera clock) or lost to a restart or reset: 400 env:Sender,
    Subcode wsrf-rw:ResourceUnknownFault, env:Detail/wsrf-rw:
    ResourceUnknownFault with wsrf-bf:Timestamp, wsrf-bf:Description. A
    PullMessages waiting when its subscription ends answers that too (a
    restart resets its connection instead). Other WS-BaseNotification
    faults have the same shape (Subcode = the Detail element's QName):
    wsnt:InvalidTopicExpressionFault, wsnt:TopicNotSupportedFault,
    wsnt:TopicExpressionDialectUnknownFault,
    wsnt:InvalidMessageContentExpressionFault (MessageContent filters are not
    supported), the two Unacceptable...TerminationTimeFault (with
    wsnt:MinimumTime, wsnt:MaximumTime) all env:Sender (400), and
    wsnt:SubscribeCreationFailedFault env:Receiver (500). Event answers'
    envelopes declare tt, ter, tev, wsnt, wsa, wstop, wsrf-rw, wsrf-bf, xs,
    tns1 and tnsipro1.
  GET /cgi-bin/getinfo?FILE=1  i-PRO CGI (HTTP Digest only, whatever "auth"
                          says: that setting is about ONVIF). 200 text/html,
                          as a real WV-S1111 answers it: a UTF-8 BOM, CRLF
                          lines, an empty line, "<HTML>", MAC=.., SERIAL=..,
                          VERSION=.., NAME=.., SDrec=enable, SDrec2=disable,
                          ..., PRODUCT_NAME=.., DESTINATION=P, "</HTML>".
                          SDrec (stream 1) is "enable" or "disable"
                          (recording switched off, state "sd": "stopped");
                          a failing card leaves it "enable" (the real
                          vocabulary has no error value: the failure shows
                          in GetRecordingSummary). Any query but FILE=1 is
                          400.
  Anything else: 404.

  SOAP rules (ONVIF Core "Error handling"; SOAP 1.2 HTTP binding: env:Sender
  faults are HTTP 400, all other codes HTTP 500). Requests are parsed by
  namespace URI and local name, never by prefix.
    non-POST on a SOAP endpoint              405 (Allow: POST)
    Content-Type not application/soap+xml    415 (charset, if given, utf-8)
    empty body (e.g. libcurl's Digest probe) 401 challenge without
                                             credentials, else plain 400
    not well-formed XML, or a DOCTYPE        400 env:Sender/ter:WellFormed
    root not a SOAP 1.2 Envelope             500 env:VersionMismatch
    no operation element in Body             400 env:Sender/ter:Tag
    unknown mustUnderstand="1" header block  500 env:MustUnderstand
                                             (WS-Security, WS-Addressing known)
    operation not implemented at that URL    500 env:Receiver/
                                             ter:ActionNotSupported (Core's
                                             table gives it code env:Receiver)

AUTHENTICATION (protected operations, and the CGI)

  No credentials: 401 with one WWW-Authenticate Digest challenge per algorithm
  (default MD5 first, then SHA-256, sharing one nonce): realm, qop="auth",
  nonce, opaque, algorithm. ONVIF Core: the server assumes Digest. For a
  camera with "auth": "wsse" the answer is 400 env:Sender/ter:NotAuthorized
  instead.

  HTTP Digest (RFC 7616/2617): needs qop=auth, nc (8 hex digits), cnonce,
  username, realm, uri equal to the request-target, opaque unchanged if sent,
  an offered algorithm, and the right response. A right response with an
  unknown or expired nonce is refused with a fresh challenge and stale=true.
  An nc not above the last one accepted for that nonce (a replay) is refused;
  a nonce may be reused with increasing nc, as libcurl does. Refusals are 401
  with a fresh challenge and the i-PRO "401 Unauthorized" HTML page.

  WS-Security UsernameToken (OASIS UsernameToken Profile 1.0): Password
  Type=...#PasswordDigest = Base64(SHA1(nonce bytes + Created + password)).
  Refused with 400 env:Sender/ter:NotAuthorized when: no Nonce or no
  wsu:Created; PasswordText (or no Type); Nonce not Base64; Created not an
  xs:dateTime with Z or an offset; unknown user; wrong digest; Created more
  than --wsse-tolerance seconds away from the CAMERA's clock (skew included:
  a client must build Created from the camera's time); a Nonce seen in the
  last max(300 s, 2 x tolerance + 5 s) (replay).

  "auth" setting: "any" takes either; "digest" refuses a request that carries
  only a UsernameToken (400 ter:NotAuthorized) and ignores a UsernameToken
  next to a Digest header; "wsse" refuses a request without a UsernameToken
  (400 ter:NotAuthorized, no challenge) and ignores an Authorization header.
  Both kinds in one request (which a client should never send, ONVIF Core):
  counted in "both_auth"; an "any" camera checks the HTTP credentials first
  and then the UsernameToken, as Core says, and both must pass.

CONTROL API (HTTP/1.1 + JSON on --control)

  GET  /cameras              list of camera states
  GET  /cameras/ID           {"id", "address", "port", "auth", "listening",
                              "fault", "params", "state", "identity",
                              "camera_time", "clock_offset",
                              "requests": {operation: n}, "responses":
                              {"200": n, ...}, "http_requests",
                              "connections", "open_connections",
                              "closed_after": {operation: n} (the client
                              closed the connection after an answer to it),
                              "auth_ok", "auth_fail", "auth_challenge",
                              "both_auth", "last_auth", "last_auth_error",
                              "last_digest_algorithm", "tls": null or
                              {"cert": PATH, "key": PATH} (the one presented
                              now), "events": {"enabled", "topics",
                              "max_pullpoints", "subscriptions": [{"idx",
                              "address", "created", "termination_time",
                              "seconds_left", "relative" (seconds or null),
                              "filter", "queued", "waiting_pulls", "pulls",
                              "delivered", "renewals"}, ...],
                              "events_injected", "events_queued",
                              "events_dropped", "subscriptions_created",
                              "subscriptions_expired",
                              "subscriptions_refused", "restarts"}}
                             (PullMessages, Renew, ... are counted in
                             "requests" like every operation)
  POST /cameras/ID           {"fault": NAME, ...params} sets (replaces) the
                             fault; {"fault": null} clears it. Answers the
                             state. Unknown names or params: 400.
  POST /cameras/ID/state     any of {"serial": str, "model": str,
                             "clock_skew": seconds (camera clock = now + skew),
                             "recording_lag": seconds (DataUntil = now - lag),
                             "sd": "ok" | "error" | "stopped"}: persistent
                             device state, kept until /reset.
  POST /cameras/ID/tls       {"cert": PATH, "key": PATH}: a TLS camera presents
                             this certificate from the next handshake on
                             (an impostor taking over, a renewed or expired
                             certificate); 400 for a camera without "tls" or
                             an unloadable pair.
  POST /cameras/ID/event     {"topic": TOPIC, "source": {name: value},
                             "data": {name: value}, "operation": "Changed"
                             (default) | "Initialized" | "Deleted"}: an event
                             queued to every live subscription whose filter
                             selects it (and remembered as the property's
                             state for the next Initialized messages). Items
                             not given take the topic's defaults (for a
                             property: its current state); values are
                             strings (true/false and numbers are turned into
                             text). 400 for a topic the camera does not offer
                             or a camera with "events": false. Answers the
                             state plus "delivered": how many subscriptions
                             got it.
  POST /cameras/ID/restart   {} or {"downtime": seconds}: the camera reboots:
                             every subscription ends, its Digest and
                             UsernameToken nonces are forgotten (an old nonce
                             gets stale=true), open connections are reset; with
                             downtime the listener is closed (ECONNREFUSED)
                             and opens again after it. Counters, state and
                             fault are kept (a "down" camera stays down).
  POST /cameras/ID/forget-auth-error
                             clears the counters' last_auth_error, nothing else.
  POST /cameras/ID/reset     restores that camera (state, fault, counters,
                             nonce caches, its configured certificate,
                             subscriptions, property states; re-binds it if
                             it was down or restarting).
  POST /reset                restores every camera.

  Counters: "requests" counts every request whose operation was identified
  (SOAP local name, or "getinfo"), whatever the answer: a 401 round counts
  too; a libcurl empty-body probe does not (it names no operation).
  "auth_ok": requests authenticated; "auth_fail": credentials presented and
  refused (reason in "last_auth_error"); "auth_challenge": protected requests
  without credentials; "last_auth": "digest", "wsse" or "both" for the last
  success, null before; "both_auth": requests carrying HTTP credentials and a
  UsernameToken together. On a TLS camera "connections" counts only
  connections past the handshake (a client that refuses the certificate
  makes none).

FAULTS (one per camera; every other camera is unaffected)

  Every fault but "down" and "clock_skew" (the camera has one clock) takes
  an optional "ops": [operation, ...] that limits it to those operations
  (SOAP local names or "getinfo"; the event operations too, e.g.
  "PullMessages", "Renew", "CreatePullPointSubscription"); a request whose
  operation is unknown (an empty probe, bad XML) is then unaffected. On
  PullMessages, "slow" delays before the long poll begins, and answer faults
  replace its answer at once (no long poll).
  Transport faults act before anything else, on every path:
    down          the listener is closed and open connections are reset:
                  connecting gives ECONNREFUSED. Clearing re-binds the same
                  address:port.
    silent        accepts, reads the whole request, never answers; holds the
                  connection until the client closes it or the fault ends
                  (then closes without an answer).
    slow          answers normally after params.delay seconds (default 5).
    http500       HTTP 500 with an HTML page, no SOAP.
    trickle       the normal answer (status line and headers included) sent
                  one byte every params.interval seconds (default 0.1): a
                  slow-drip ("slowloris") camera that never stops talking but
                  never finishes in time. When the fault ends, the rest goes
                  at once.
    huge_body     200 with a params.size-byte body (default 8 MiB, an XML
                  envelope padded inside a comment), streamed 64 KiB at a time
                  with back-pressure, never held in memory; with
                  params.endless true the body has no Content-Length and
                  streams until the client closes or the fault ends.
  Answer faults replace the 200 answer of a SOAP operation (after any
  authentication, as a real handler's failure would):
    soap_fault    a SOAP 1.2 env:Fault: env:Code/env:Value env:Receiver (or
                  params.code "Sender") + env:Subcode/env:Value params.subcode
                  (default ter:Action), env:Reason/env:Text xml:lang="en"
                  params.reason (default "Action Failed"). HTTP 500 (400 for
                  Sender).
    garbage_xml   200 application/soap+xml whose body is not well-formed.
    xml_bomb      200 application/soap+xml: a SOAP envelope behind a DOCTYPE
                  declaring nested entities ("billion laughs", 10^9 "lol"s
                  when expanded, 1.2 KB on the wire).
    xml_external_entity  200 application/soap+xml: an envelope behind a
                  DOCTYPE declaring an external entity (file:///etc/passwd)
                  used in the Body (XXE).
    deep_xml      200 application/soap+xml: the operation's answer wrapped in
                  params.depth (default 10000) nested elements, closed again
                  (well-formed; 19 bytes a level: 10000 deep is 190 KB).
  Authentication fault:
    auth_reject   every protected operation and the CGI refuse even the right
                  credentials: Digest -> 401 with a fresh challenge,
                  UsernameToken -> 400 ter:NotAuthorized. PRE_AUTH operations
                  still answer.
  Data faults:
    wrong_model   Model (GetDeviceInformation) and NAME/PRODUCT_NAME (getinfo)
                  become params.model (default "WV-S1111").
    swapped_serial SerialNumber and SERIAL become params.serial (default
                  derived from the serial).
    clock_skew    the camera clock runs params.seconds (default 60) ahead
                  (negative: behind), on top of state clock_skew. Affects
                  GetSystemDateAndTime, the WS-Security Created check, the
                  recording times and the HTTP Date header.
    recording_stopped  DataUntil is frozen at the camera time the fault was
                  set minus params.lag (default 3600) and no longer moves;
                  NumberRecordings stays 1 and getinfo still says SDrec=enable
                  (a silent stall that only DataUntil shows).
    sd_error      getinfo still says SDrec=enable, and GetRecordingSummary
                  says NumberRecordings=0 (the SD card's recordings are
                  unreadable) with DataFrom = DataUntil = the camera time the
                  fault was set, so a client that ignores NumberRecordings=0
                  still sees recording stop. state "sd": "error" does the
                  same. state "sd": "stopped" is recording switched off:
                  SDrec=disable and DataUntil frozen, NumberRecordings 1.

HTTP SERVER

  HTTPS for a camera with "tls" (the handshake must complete within
  --idle-timeout). HTTP/1.1 keep-alive (HTTP/1.0 only with Connection: keep-alive), request
  bodies by Content-Length only (Transfer-Encoding: 411), header block at most
  16 KiB (431), body at most 64 KiB (413, before any 100 Continue),
  Expect: 100-continue honoured, Host required for HTTP/1.1, idle timeout
  --idle-timeout (after an answer a camera's "keepalive" instead, if set: then
  the next request's whole header must come within it). After an error answer
  the connection is closed gracefully (the unread request is drained for up to a
  second). "closed_after" counts a client's clean close (EOF) between requests;
  a close over TLS without close_notify is not counted (it may undercount).
"""

import argparse
import asyncio
import base64
import binascii
import collections
import dataclasses
import datetime
import email.utils
import hashlib
import hmac
import http
import io
import ipaddress
import json
import math
import os
import re
import resource
import secrets
import signal
import socket
import ssl
import sys
import time
import traceback
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

# ---------------------------------------------------------------- constants

NS_ENV = "http://www.w3.org/2003/05/soap-envelope"
NS_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS_TDS = "http://www.onvif.org/ver10/device/wsdl"
NS_TT = "http://www.onvif.org/ver10/schema"
NS_TSE = "http://www.onvif.org/ver10/search/wsdl"
NS_TER = "http://www.onvif.org/ver10/error"
NS_TEV = "http://www.onvif.org/ver10/events/wsdl"
NS_WSNT = "http://docs.oasis-open.org/wsn/b-2"
NS_WSA = "http://www.w3.org/2005/08/addressing"
NS_WSTOP = "http://docs.oasis-open.org/wsn/t-1"
NS_WSRF_RW = "http://docs.oasis-open.org/wsrf/rw-2"
NS_WSRF_BF = "http://docs.oasis-open.org/wsrf/bf-2"
NS_XS = "http://www.w3.org/2001/XMLSchema"
NS_TNS1 = "http://www.onvif.org/ver10/topics"
NS_TNSIPRO1 = "http://i-pro.com/2021/onvif/event/topics"
# Topic namespace prefixes a topic name may use (DEVICES.md A6).
TOPIC_NAMESPACES = {"tns1": NS_TNS1, "tnsipro1": NS_TNSIPRO1}
DIALECT_CONCRETE_SET = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
DIALECT_CONCRETE = "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete"
ITEM_FILTER = "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter"
NS_WSSE = ("http://docs.oasis-open.org/wss/2004/01/"
           "oasis-200401-wss-wssecurity-secext-1.0.xsd")
NS_WSU = ("http://docs.oasis-open.org/wss/2004/01/"
          "oasis-200401-wss-wssecurity-utility-1.0.xsd")
WSS_PASSWORD_DIGEST = ("http://docs.oasis-open.org/wss/2004/01/"
                       "oasis-200401-wss-username-token-profile-1.0#PasswordDigest")
WSS_PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/"
                     "oasis-200401-wss-username-token-profile-1.0#PasswordText")
WSS_BASE64 = ("http://docs.oasis-open.org/wss/2004/01/"
              "oasis-200401-wss-soap-message-security-1.0#Base64Binary")
# SOAP header blocks a camera understands; mustUnderstand on any other is a fault.
UNDERSTOOD_HEADERS = frozenset({
    NS_WSSE, NS_WSU, "http://www.w3.org/2005/08/addressing",
    "http://schemas.xmlsoap.org/ws/2004/08/addressing"})

SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"
QUOTE = {'"': "&quot;"}                 # escape() for attribute values
HTML_CONTENT_TYPE = "text/html"
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024
LISTEN_BACKLOG = 128
CHUNK = 64 * 1024
PAD_CHUNK = b"x" * CHUNK
DIGEST_NONCES_KEPT = 128
WSSE_NONCES_KEPT = 4096
TZ_POSIX = "JST-9"
TZ_OFFSET = 9 * 3600
RECORDING_SPAN = 14 * 86400
HUGE_BODY_DEFAULT = 8 * 1024 * 1024

AUTH_MODES = ("digest", "wsse", "any")
DIGEST_ALGORITHMS = ("MD5", "SHA-256", "MD5-sess", "SHA-256-sess")
SD_STATES = ("ok", "error", "stopped")

EVENT_PATH = "/onvif/event_service"
SUBSCRIPTION_PATH = "/onvif/Subscription"      # ?Idx=N, as the i-PRO traces (DEVICES.md A1)
ENDPOINTS = {
    "/onvif/device_service": "device",
    "/onvif/search_service": "search",
    EVENT_PATH: "event",
    SUBSCRIPTION_PATH: "subscription",
    "/cgi-bin/getinfo": "getinfo",
}
SOAP_ENDPOINTS = ("device", "search", "event", "subscription")
EVENT_ENDPOINTS = ("event", "subscription")
# (endpoint, namespace, path, version) in GetServices order.
SERVICES = (
    ("device", NS_TDS, "/onvif/device_service", (2, 60)),
    ("event", NS_TEV, EVENT_PATH, (2, 60)),
    ("search", NS_TSE, "/onvif/search_service", (2, 42)),
)
# (endpoint, namespace, local name) -> (access class, Camera method name)
OPERATIONS = {
    ("device", NS_TDS, "GetSystemDateAndTime"): ("PRE_AUTH", "op_get_system_date_and_time"),
    ("device", NS_TDS, "GetServices"): ("PRE_AUTH", "op_get_services"),
    ("device", NS_TDS, "GetDeviceInformation"): ("READ_SYSTEM", "op_get_device_information"),
    ("search", NS_TSE, "GetRecordingSummary"): ("READ_MEDIA", "op_get_recording_summary"),
    ("event", NS_TEV, "GetServiceCapabilities"): ("PRE_AUTH", "op_get_event_capabilities"),
    ("event", NS_TEV, "GetEventProperties"): ("READ_MEDIA", "op_get_event_properties"),
    ("event", NS_TEV, "CreatePullPointSubscription"): ("READ_MEDIA", "op_create_pull_point"),
    ("subscription", NS_TEV, "PullMessages"): ("READ_MEDIA", "op_pull_messages"),
    ("subscription", NS_TEV, "SetSynchronizationPoint"): ("READ_MEDIA", "op_set_sync_point"),
    ("subscription", NS_WSNT, "Renew"): ("READ_MEDIA", "op_renew"),
    ("subscription", NS_WSNT, "Unsubscribe"): ("READ_MEDIA", "op_unsubscribe"),
}

# ---- events [choice]s: the i-PRO's own values are unknown unless DEVICES.md says.
MAX_PULLPOINTS_DEFAULT = 6          # i-PRO: at most 6 PullPoint subscriptions (DEVICES.md A6)
DEFAULT_TERMINATION = 60.0          # seconds, when CreatePullPointSubscription gives none
MAX_TERMINATION = 86400.0           # longest accepted (Initial)TerminationTime, from now
MAX_PULL_TIMEOUT = 60.0             # PullMessages Timeout; the WSDL's minimum is one minute
MAX_MESSAGE_LIMIT = 100
QUEUE_LIMIT = 1000                  # notifications kept per subscription; older ones dropped
# topic -> (IsProperty, Source items, Data items); items are (Name, Type, default Value).
TAMPER_DESCRIPTION = (True, (("Source", "tt:ReferenceToken", "1"),),
                      (("State", "xs:boolean", "false"),))
TOPIC_DESCRIPTIONS = {
    "tns1:VideoSource/GlobalSceneChange/ImagingService": TAMPER_DESCRIPTION,
    "tns1:VideoSource/ImageTooDark/ImagingService": TAMPER_DESCRIPTION,
    "tns1:VideoSource/ImageTooBlurry/ImagingService": TAMPER_DESCRIPTION,
    "tns1:VideoSource/ImageTooBright/ImagingService": TAMPER_DESCRIPTION,
    "tns1:Device/HardwareFailure/StorageFailure": (
        True, (("Token", "tt:ReferenceToken", "SD1"),), (("Failed", "xs:boolean", "false"),)),
    "tns1:RecordingConfig/JobState": (
        True, (("RecordingJobToken", "tt:RecordingJobReference", "RecordingJob1"),),
        (("State", "xs:string", "Active"),)),
    "tns1:RecordingHistory/Recording/State": (
        True, (("RecordingToken", "tt:RecordingReference", "Recording1"),),
        (("IsRecording", "xs:boolean", "true"),)),
    # [U] the i-PRO topic's items are not public: one made-up Data item.
    "tns1:Device/tnsipro1:SD/Capacity/Decreased": (
        False, (), (("RemainingCapacity", "xs:int", "10"),)),
}
DEFAULT_EVENT_TOPICS = list(TOPIC_DESCRIPTIONS)
PROPERTY_OPERATIONS = ("Initialized", "Changed", "Deleted")
TOPIC_NAME = re.compile(r"(tns1|tnsipro1):[A-Za-z_][\w.-]*(/((tns1|tnsipro1):)?[A-Za-z_][\w.-]*)*")

ENVELOPE_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<env:Envelope xmlns:env="{NS_ENV}" xmlns:tds="{NS_TDS}" xmlns:tt="{NS_TT}"'
    f' xmlns:tse="{NS_TSE}" xmlns:ter="{NS_TER}"><env:Body>')
ENVELOPE_CLOSE = "</env:Body></env:Envelope>\n"
# Event answers declare the topic namespaces too: wsnt:Topic's text is a QName.
EVENT_ENVELOPE_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<env:Envelope xmlns:env="{NS_ENV}" xmlns:tt="{NS_TT}" xmlns:ter="{NS_TER}"'
    f' xmlns:tev="{NS_TEV}" xmlns:wsnt="{NS_WSNT}" xmlns:wsa="{NS_WSA}"'
    f' xmlns:wstop="{NS_WSTOP}" xmlns:wsrf-rw="{NS_WSRF_RW}" xmlns:wsrf-bf="{NS_WSRF_BF}"'
    f' xmlns:xs="{NS_XS}" xmlns:tns1="{NS_TNS1}" xmlns:tnsipro1="{NS_TNSIPRO1}">'
    "<env:Body>")
# Unbound prefix, mismatched tags, a bare '&' and no end: not well-formed.
GARBAGE_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<env:Envelope xmlns:env="' + NS_ENV.encode() + b'"><env:Body>'
    b'<tds:GetDeviceInformationResponse><tds:Model>WV-S2536 & co</tds:Mod>'
    b'</env:Body><env:Body')
# Entities expanding to 10^9 "lol"s (3 GB), 1.2 KB on the wire.
XML_BOMB = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE env:Envelope [\n<!ENTITY lol0 "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">\n' for i in range(1, 10))
    + "]>\n" + ENVELOPE_OPEN.split("\n", 1)[1]
    + "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:TimeZone><tt:TZ>&lol9;"
      "</tt:TZ></tt:TimeZone></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    + ENVELOPE_CLOSE).encode()
XML_EXTERNAL_ENTITY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE env:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    + ENVELOPE_OPEN.split("\n", 1)[1]
    + "<tds:GetDeviceInformationResponse><tds:Manufacturer>&xxe;</tds:Manufacturer>"
      "</tds:GetDeviceInformationResponse>" + ENVELOPE_CLOSE).encode()
HUGE_SOAP_PREFIX = (ENVELOPE_OPEN + "<!-- ").encode()
HUGE_SOAP_SUFFIX = (" -->" + ENVELOPE_CLOSE).encode()
HUGE_HTML_PREFIX = b"<HTML>\n<!-- "
HUGE_HTML_SUFFIX = b" -->\n</HTML>\n"

CAMERA_DEFAULTS = {
    "auth": "any",
    "model": "WV-S2536LNUX",
    "manufacturer": "i-PRO",
    "firmware": "2.30",
    "realm": "i-PRO Network Camera",
    "digest_algorithms": ["MD5", "SHA-256"],
}
CAMERA_KEYS = frozenset({
    "id", "address", "port", "username", "password", "auth", "model",
    "manufacturer", "serial", "firmware", "hardware_id", "mac", "realm",
    "digest_algorithms", "tls", "events", "event_topics", "max_pullpoints", "keepalive"})

# Fault name -> {param: (kind, default)}; most also take "ops" (see below).
FAULTS = {
    "down": {},
    "silent": {},
    "slow": {"delay": ("duration", 5.0)},
    "http500": {},
    "soap_fault": {"code": ("code", "Receiver"), "subcode": ("subcode", "ter:Action"),
                   "reason": ("text", "Action Failed")},
    "garbage_xml": {},
    "xml_bomb": {},
    "xml_external_entity": {},
    "deep_xml": {"depth": ("size", 10000)},
    "trickle": {"interval": ("duration", 0.1)},
    "huge_body": {"size": ("size", HUGE_BODY_DEFAULT), "endless": ("bool", False)},
    "auth_reject": {},
    "wrong_model": {"model": ("text", "WV-S1111")},
    "swapped_serial": {"serial": ("text", None)},
    "clock_skew": {"seconds": ("number", 60.0)},
    "recording_stopped": {"lag": ("duration", 3600.0)},
    "sd_error": {},
}
# Faults that act on the whole camera, never on single operations.
UNFILTERED_FAULTS = ("down", "clock_skew")

# ---------------------------------------------------------------- small helpers


class ConfigError(Exception):
    """A bad command line or camera file (exit status 2)."""


class ApiError(Exception):
    """A control API request that cannot be carried out."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def is_loopback_ipv4(text):
    try:
        return ipaddress.IPv4Address(text) in ipaddress.IPv4Network("127.0.0.0/8")
    except ValueError:
        return False


def parse_loopback_endpoint(text):
    host, sep, port = text.rpartition(":")
    if not sep or not is_loopback_ipv4(host) or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"--control must be ADDRESS:PORT with an address in "
                          f"127.0.0.0/8, not {text!r}")
    return host, int(port)


def utc(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)


def xs_datetime(ts):
    return utc(math.floor(ts)).strftime("%Y-%m-%dT%H:%M:%SZ")


XS_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def parse_xs_datetime(text):
    """Seconds since the epoch of an xs:dateTime with a zone, or None."""
    m = XS_DATETIME.fullmatch(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    zone = m.group(8)
    offset = 0
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    try:
        base = datetime.datetime(year, month, day, hour, minute, second,
                                 tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return None
    return base - offset + float(m.group(7) or 0)


XS_DURATION = re.compile(
    r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def parse_xs_duration(text):
    """Seconds of an xs:duration (a year is 365 days, a month 30), or None."""
    m = XS_DURATION.fullmatch(text)
    if not m or text.endswith(("P", "T")):
        return None
    years, months, days, hours, minutes = (int(g or 0) for g in m.groups()[1:6])
    seconds = float(m.group(7) or 0)
    total = (((years * 365 + months * 30 + days) * 24 + hours) * 60 + minutes) * 60 + seconds
    return -total if m.group(1) else total


def xs_duration(seconds):
    return f"PT{seconds:g}S"


def parse_absolute_or_relative(text, now):
    """(termination time, relative seconds or None) of a
    wsnt:AbsoluteOrRelativeTimeType, or None when it is neither."""
    text = text.strip()
    if text.startswith(("P", "-P")):
        seconds = parse_xs_duration(text)
        return None if seconds is None else (now + seconds, seconds)
    moment = parse_xs_datetime(text)
    return None if moment is None else (moment, None)


def local_name(tag):
    """(namespace, local name) of an ElementTree tag."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def qn(ns, local):
    return f"{{{ns}}}{local}"


def phrase(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def html_page(status):
    text = f"{status} {phrase(status)}"
    return (f"<HTML><HEAD><TITLE>{text}</TITLE></HEAD>"
            f"<BODY><H1>{phrase(status)}</H1></BODY></HTML>").encode()


def html_response(status, headers=None, close=False):
    return Response(status, html_page(status), HTML_CONTENT_TYPE, headers, close=close)


def json_response(status, obj):
    return Response(status, (json.dumps(obj, indent=1) + "\n").encode(), "application/json")


def soap_response(inner, opening=ENVELOPE_OPEN):
    return Response(200, (opening + inner + ENVELOPE_CLOSE).encode(), SOAP_CONTENT_TYPE)


def soap_fault(code, subcode, reason, detail=None):
    """A SOAP 1.2 fault; env:Sender is HTTP 400, any other code HTTP 500.
    detail (XML text) goes into env:Detail, in the event envelope."""
    sub = (f"<env:Subcode><env:Value>{escape(subcode)}</env:Value></env:Subcode>"
           if subcode else "")
    inner = (f"<env:Fault><env:Code><env:Value>env:{code}</env:Value>{sub}</env:Code>"
             f'<env:Reason><env:Text xml:lang="en">{escape(reason)}</env:Text></env:Reason>'
             + (f"<env:Detail>{detail}</env:Detail>" if detail else "")
             + "</env:Fault>")
    resp = soap_response(inner, ENVELOPE_OPEN if detail is None else EVENT_ENVELOPE_OPEN)
    resp.status = 400 if code == "Sender" else 500
    return resp


def base_fault(code, element, description, now, extra=""):
    """A WS-BaseNotification / WS-ResourceFramework fault (wsrf-bf:BaseFaultType):
    subcode and env:Detail element both the QName element, e.g.
    wsrf-rw:ResourceUnknownFault."""
    detail = (f"<{element}><wsrf-bf:Timestamp>{xs_datetime(now)}</wsrf-bf:Timestamp>"
              f'<wsrf-bf:Description xml:lang="en">{escape(description)}</wsrf-bf:Description>'
              f"{extra}</{element}>")
    return soap_fault(code, element, description, detail)


def not_authorized():
    return soap_fault("Sender", "ter:NotAuthorized", "Sender not Authorized")


def soap_media_ok(content_type):
    """application/soap+xml, with charset utf-8 if a charset is given."""
    if not content_type:
        return False
    parts = content_type.split(";")
    if parts[0].strip().lower() != "application/soap+xml":
        return False
    for param in parts[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            return False
    return True


# ---------------------------------------------------------------- HTTP/1.1 server

TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class HttpError(Exception):
    """A request the HTTP layer refuses before any handler sees it."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


class Request:
    __slots__ = ("method", "target", "version", "headers", "body", "peer",
                 "path", "query", "auth")

    def __init__(self, method, target, version, headers, body, peer):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.peer = peer
        parts = urlsplit(target)
        self.path = parts.path
        self.query = parts.query
        self.auth = None            # how it was authenticated, for the log

    @property
    def keep_alive(self):
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


class Response:
    __slots__ = ("status", "body", "content_type", "headers", "stream", "length",
                 "close", "hold", "drip")

    def __init__(self, status, body=b"", content_type=None, headers=None, *,
                 stream=None, length=None, close=False, hold=None, drip=None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = list(headers or ())
        self.stream = stream        # async fn(writer) sending the body
        self.length = length        # Content-Length of a streamed body, None: until close
        self.close = close
        self.hold = hold            # fn() -> bool: never answer while it is true
        self.drip = drip            # fn() -> seconds between bytes, or None: at once


def content_length(headers):
    raw = headers.get("content-length")
    if raw is None:
        return 0
    values = {v.strip() for v in raw.split(",")}
    if len(values) != 1:
        raise HttpError(400)
    value = values.pop()
    if not re.fullmatch(r"[0-9]{1,15}", value):
        raise HttpError(400)
    return int(value)


def parse_head(head):
    """(method, target, version, headers) of a request head, or HttpError."""
    lines = head[:-4].split(b"\r\n")
    while lines and not lines[0]:
        lines.pop(0)                # RFC 9112 2.2: ignore empty lines before it
    if not lines:
        raise HttpError(400)
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not TOKEN.fullmatch(parts[0]) or not parts[1]:
        raise HttpError(400)
    try:
        method, target, version = (p.decode("ascii") for p in parts)
    except UnicodeDecodeError:
        raise HttpError(400) from None
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(505 if re.fullmatch(r"HTTP/\d\.\d", version) else 400)
    headers = {}
    for raw in lines[1:]:
        if raw[:1] in (b" ", b"\t"):
            raise HttpError(400)    # obsolete line folding
        name, sep, value = raw.partition(b":")
        if not sep or not TOKEN.fullmatch(name):
            raise HttpError(400)
        key = name.decode("ascii").lower()
        val = value.strip(b" \t").decode("latin-1")
        headers[key] = f"{headers[key]}, {val}" if key in headers else val
    if version == "HTTP/1.1" and "host" not in headers:
        raise HttpError(400)
    return method, target, version, headers


GONE = "gone"   # read_request: the client closed the connection between requests


async def read_request(reader, writer, idle_timeout):
    """The next request on a connection; GONE when the client closed it, None when it
    sat idle too long or broke."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), idle_timeout)
    except asyncio.LimitOverrunError:
        raise HttpError(431) from None
    except asyncio.IncompleteReadError as exc:
        return GONE if not exc.partial else None
    except (asyncio.TimeoutError, ConnectionError):
        return None
    method, target, version, headers = parse_head(head)
    if "transfer-encoding" in headers:
        raise HttpError(411)        # bodies by Content-Length only
    length = content_length(headers)
    if length > MAX_BODY_BYTES:
        raise HttpError(413)
    body = b""
    if length:
        if "100-continue" in headers.get("expect", "").lower():
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            body = await asyncio.wait_for(reader.readexactly(length), idle_timeout)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError):
            return None
    peer = writer.get_extra_info("peername") or ("?", 0)
    return Request(method, target, version, headers, body, peer)


async def write_response(writer, resp, keep_alive):
    """Sends resp; returns whether the connection stays open."""
    head = [f"HTTP/1.1 {resp.status} {phrase(resp.status)}"]
    head += [f"{name}: {value}" for name, value in resp.headers]
    if resp.content_type:
        head.append(f"Content-Type: {resp.content_type}")
    if resp.stream is None:
        head.append(f"Content-Length: {len(resp.body)}")
    elif resp.length is not None:
        head.append(f"Content-Length: {resp.length}")
    else:
        keep_alive = False          # body delimited by the close
    head.append("Connection: keep-alive" if keep_alive else "Connection: close")
    data = "\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + resp.body
    if resp.drip is not None:
        await drip(writer, data, resp.drip)
    else:
        writer.write(data)
    await writer.drain()
    if resp.stream is not None:
        await resp.stream(writer)
    return keep_alive


async def drip(writer, data, interval):
    """Writes data a byte at a time, interval() seconds apart, while interval()
    gives a number; then the rest at once. Stops when the client is gone."""
    for i in range(len(data)):
        pause = interval()
        if pause is None:
            writer.write(data[i:])
            return
        if writer.transport.is_closing():
            raise ConnectionResetError("the client closed the connection")
        writer.write(data[i:i + 1])
        await writer.drain()
        await asyncio.sleep(pause)


async def linger_close(reader, writer, seconds=1.0, cap=1 << 20):
    """Half-closes, then drains what the client still sends (bounded), so that
    the error answer is not lost to a TCP reset."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    got = 0
    try:
        if writer.can_write_eof():  # not over TLS: there only the drain
            writer.write_eof()
        while got < cap:
            left = deadline - loop.time()
            if left <= 0:
                break
            data = await asyncio.wait_for(reader.read(CHUNK), left)
            if not data:
                break
            got += len(data)
    except (ConnectionError, OSError, asyncio.TimeoutError):
        pass


async def hold_connection(reader, holding):
    """Reads and discards until the client closes or holding() turns false."""
    while holding():
        try:
            data = await asyncio.wait_for(reader.read(CHUNK), 0.5)
        except asyncio.TimeoutError:
            continue
        if not data:
            return


async def serve_http(reader, writer, handler, idle_timeout, on_gone=None, keepalive=None):
    """One connection: requests in order, keep-alive, until either side ends it.
    on_gone() when the client closes it between requests; keepalive: the seconds
    it may sit idle after an answer (default idle_timeout)."""
    wait = idle_timeout
    try:
        while True:
            try:
                req = await read_request(reader, writer, wait)
            except HttpError as exc:
                await write_response(writer, html_response(exc.status), False)
                await linger_close(reader, writer)
                return
            if req is GONE and on_gone is not None:
                on_gone()
            if req is None or req is GONE:
                return
            try:
                resp = await handler(req)
            except Exception:       # a simulator bug: say so, keep serving others
                traceback.print_exc(file=sys.stderr)
                resp = html_response(500, close=True)
            if resp.hold is not None:
                await hold_connection(reader, resp.hold)
                return
            if not await write_response(writer, resp, req.keep_alive and not resp.close):
                return
            wait = idle_timeout if keepalive is None else keepalive
    except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
        pass
    finally:
        writer.close()


def listen_socket(address, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


# ---------------------------------------------------------------- SOAP parsing


class SoapMessage:
    """A parsed SOAP 1.2 request: the operation element and the WS-Security
    header, or the fault answer for a request that is not one."""

    __slots__ = ("ns", "local", "element", "security", "error", "body")

    def __init__(self, error=None, element=None, security=None, body=b""):
        self.error = error
        self.element = element
        self.security = security
        self.body = body
        self.ns, self.local = local_name(element.tag) if element is not None else (None, None)


def parse_soap(body):
    if b"<!DOCTYPE" in body.upper():
        return SoapMessage(soap_fault("Sender", "ter:WellFormed", "Well-formed Error"))
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return SoapMessage(soap_fault("Sender", "ter:WellFormed", "Well-formed Error"))
    if root.tag != qn(NS_ENV, "Envelope"):
        return SoapMessage(soap_fault("VersionMismatch", None, "SOAP version mismatch"))
    header = root.find(qn(NS_ENV, "Header"))
    body_el = root.find(qn(NS_ENV, "Body"))
    if body_el is None or len(body_el) == 0:
        return SoapMessage(soap_fault("Sender", "ter:Tag", "No Tag"))
    security = None
    if header is not None:
        for block in header:
            ns, local = local_name(block.tag)
            must = block.get(qn(NS_ENV, "mustUnderstand"), "").strip().lower()
            if must in ("1", "true") and ns not in UNDERSTOOD_HEADERS:
                return SoapMessage(soap_fault("MustUnderstand", None,
                                              "SOAP header blocks not understood"))
            if ns == NS_WSSE and local == "Security" and security is None:
                security = block
    return SoapMessage(element=body_el[0], security=security, body=body)


# ---------------------------------------------------------------- HTTP Digest

AUTH_PARAM = re.compile(
    r'\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)')


def parse_auth_params(text):
    params = {}
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = AUTH_PARAM.match(text, pos)
        if not m or m.end() == pos:
            return None
        value = m.group(2)
        value = re.sub(r"\\(.)", r"\1", value) if value is not None else m.group(3)
        params[m.group(1).lower()] = value
        pos = m.end()
    return params


def digest_hash(algorithm, text):
    name = "sha256" if algorithm.upper().startswith("SHA-256") else "md5"
    return hashlib.new(name, text.encode("utf-8")).hexdigest()


def digest_expected(algorithm, username, realm, password, method, p):
    ha1 = digest_hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.lower().endswith("-sess"):
        ha1 = digest_hash(algorithm, f"{ha1}:{p['nonce']}:{p['cnonce']}")
    ha2 = digest_hash(algorithm, f"{method}:{p['uri']}")
    return digest_hash(algorithm,
                       f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}")


def uri_matches(uri, target):
    if uri == target:
        return True
    parts = urlsplit(uri)
    if not parts.scheme:
        return False
    return parts.path + (f"?{parts.query}" if parts.query else "") == target


class DigestCheck:
    """The outcome of checking one Authorization header."""

    __slots__ = ("ok", "reason", "stale", "algorithm")

    def __init__(self, ok, reason=None, stale=False, algorithm=None):
        self.ok, self.reason, self.stale, self.algorithm = ok, reason, stale, algorithm


# ---------------------------------------------------------------- options and log


@dataclasses.dataclass(frozen=True)
class Options:
    idle_timeout: float = 30.0
    nonce_lifetime: float = 300.0
    wsse_tolerance: float = 5.0

    @property
    def wsse_nonce_memory(self):
        return max(300.0, 2 * self.wsse_tolerance + 5.0)


class RequestLog:
    """One line per request (never a secret: no bodies, no Authorization)."""

    def __init__(self, path):
        self.file = open(path, "a", buffering=1, encoding="utf-8") if path else None

    def _write(self, text):
        if self.file:
            stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
            self.file.write(f"{stamp} {text}\n")

    def request(self, camera_id, req, op, resp, started):
        status = "held" if resp.hold is not None else resp.status
        ms = (time.monotonic() - started) * 1000
        self._write(f"cam={camera_id} peer={req.peer[0]}:{req.peer[1]} "
                    f'"{req.method} {req.path}" op={op or "-"} status={status} '
                    f"auth={req.auth or '-'} {ms:.1f}ms")

    def event(self, text):
        self._write(text)

    def close(self):
        if self.file:
            self.file.close()


# ---------------------------------------------------------------- camera configuration


def derived_mac(camera_id):
    digest = hashlib.sha1(camera_id.encode()).digest()
    return "BC-C3-42-" + "-".join(f"{b:02X}" for b in digest[:3])


def normalize_camera(item, index):
    where = f"camera #{index + 1}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: must be an object")
    unknown = sorted(set(item) - CAMERA_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}")
    for key in ("id", "address", "port", "username", "password"):
        if key not in item:
            raise ConfigError(f"{where}: {key} is required")
    conf = dict(CAMERA_DEFAULTS)
    conf.update(item)
    for key in ("id", "address", "username", "password", "model", "manufacturer",
                "firmware", "realm", "serial", "hardware_id", "mac"):
        if key in conf and not isinstance(conf[key], str):
            raise ConfigError(f"{where}: {key} must be a string")
    if not conf["id"] or "/" in conf["id"]:
        raise ConfigError(f"{where}: id must be a non-empty string without '/'")
    where = f"camera {conf['id']!r}"
    if not is_loopback_ipv4(conf["address"]):
        raise ConfigError(f"{where}: address {conf['address']!r} is not an IPv4 "
                          "address in 127.0.0.0/8")
    port = conf["port"]
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"{where}: port must be an integer 0..65535")
    if not conf["username"]:
        raise ConfigError(f"{where}: username must not be empty")
    if conf["auth"] not in AUTH_MODES:
        raise ConfigError(f"{where}: auth must be one of {list(AUTH_MODES)}")
    algorithms = conf["digest_algorithms"]
    canonical = {a.lower(): a for a in DIGEST_ALGORITHMS}
    if (not isinstance(algorithms, list) or not algorithms
            or any(not isinstance(a, str) or a.lower() not in canonical for a in algorithms)):
        raise ConfigError(f"{where}: digest_algorithms must be a non-empty list of "
                          f"{list(DIGEST_ALGORITHMS)}")
    conf["digest_algorithms"] = [canonical[a.lower()] for a in algorithms]
    if "tls" in conf:
        tls = conf["tls"]
        if (not isinstance(tls, dict) or set(tls) != {"cert", "key"}
                or not all(isinstance(v, str) and v for v in tls.values())):
            raise ConfigError(f'{where}: tls must be {{"cert": PATH, "key": PATH}}')
        try:
            tls_context(tls["cert"], tls["key"])
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"{where}: tls: {exc}") from None
    if not isinstance(conf.setdefault("events", True), bool):
        raise ConfigError(f"{where}: events must be true or false")
    topics = conf.setdefault("event_topics", list(DEFAULT_EVENT_TOPICS))
    if (not isinstance(topics, list)
            or any(not isinstance(t, str) or not TOPIC_NAME.fullmatch(t) for t in topics)
            or len(set(topics)) != len(topics)):
        raise ConfigError(f"{where}: event_topics must be a list of distinct topic names "
                          "like tns1:VideoSource/GlobalSceneChange/ImagingService "
                          f"(prefixes {sorted(TOPIC_NAMESPACES)})")
    conf["event_topics"] = list(topics)
    keepalive = conf.get("keepalive")
    if keepalive is not None and (isinstance(keepalive, bool)
                                  or not isinstance(keepalive, (int, float))
                                  or not 0 < keepalive <= 3600):
        raise ConfigError(f"{where}: keepalive must be seconds, more than 0 and at most 3600")
    limit = conf.setdefault("max_pullpoints", MAX_PULLPOINTS_DEFAULT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise ConfigError(f"{where}: max_pullpoints must be an integer 1..1000")
    conf.setdefault("serial", f"SIM{conf['id']:0>7}")
    conf.setdefault("hardware_id", conf["model"])
    conf.setdefault("mac", derived_mac(conf["id"]))
    return conf


def tls_context(cert, key):
    """A server-side TLS context presenting the PEM chain cert with key."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def validate_tls(body):
    """(context, {"cert", "key"}) of a POST /cameras/ID/tls body, or ApiError."""
    if (not isinstance(body, dict) or set(body) != {"cert", "key"}
            or not all(isinstance(v, str) and v for v in body.values())):
        raise ApiError(400, 'body must be {"cert": PATH, "key": PATH}')
    try:
        ctx = tls_context(body["cert"], body["key"])
    except (OSError, ssl.SSLError) as exc:
        raise ApiError(400, f"cannot load the certificate: {exc}") from None
    return ctx, {"cert": body["cert"], "key": body["key"]}


def load_cameras(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{path}: must be a non-empty JSON list of cameras")
    confs = [normalize_camera(item, i) for i, item in enumerate(data)]
    ids, endpoints = set(), set()
    for conf in confs:
        if conf["id"] in ids:
            raise ConfigError(f"duplicate camera id {conf['id']!r}")
        ids.add(conf["id"])
        endpoint = (conf["address"], conf["port"])
        if conf["port"] and endpoint in endpoints:
            raise ConfigError(f"two cameras on {endpoint[0]}:{endpoint[1]}")
        endpoints.add(endpoint)
    return confs


# ---------------------------------------------------------------- control-API validation


def check_param(name, kind, value):
    """value if it fits kind, else ApiError."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind in ("number", "duration"):
        if not number or not math.isfinite(value) or (kind == "duration" and value < 0):
            raise ApiError(400, f"{name} must be a {'non-negative ' if kind == 'duration' else ''}"
                                "number of seconds")
        return float(value)
    if kind == "size":
        if not number or value != int(value) or value < 0:
            raise ApiError(400, f"{name} must be a non-negative integer")
        return int(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ApiError(400, f"{name} must be true or false")
        return value
    if kind == "code":
        if value not in ("Sender", "Receiver"):
            raise ApiError(400, f"{name} must be \"Sender\" or \"Receiver\"")
        return value
    if kind == "subcode":
        if not isinstance(value, str) or not re.fullmatch(r"ter:[A-Za-z][A-Za-z0-9]{0,63}", value):
            raise ApiError(400, f"{name} must look like \"ter:Name\"")
        return value
    if kind == "text":
        if not isinstance(value, str) or not value or len(value) > 256 \
                or any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
            # Line breaks are allowed: a hostile camera's text (issue 12).
            # Other controls cannot be written in XML 1.0 at all.
            raise ApiError(400, f"{name} must be a non-empty string of at most 256 "
                                "characters, no control characters but tab and line breaks")
        return value
    if kind == "ops":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ApiError(400, f"{name} must be a list of operation names")
        return list(value)
    raise AssertionError(kind)


def validate_fault(body, default_serial):
    """(name, params with defaults) from a POST /cameras/ID body."""
    if not isinstance(body, dict) or "fault" not in body:
        raise ApiError(400, 'body must be an object with "fault"')
    name = body["fault"]
    if name is None:
        if len(body) > 1:
            raise ApiError(400, "clearing a fault takes no parameters")
        return None, {}
    if name not in FAULTS:
        raise ApiError(400, f"unknown fault {name!r}; known: {sorted(FAULTS)}")
    schema = dict(FAULTS[name])
    if name not in UNFILTERED_FAULTS:
        schema["ops"] = ("ops", None)
    params = {}
    for key, value in body.items():
        if key == "fault":
            continue
        if key not in schema:
            raise ApiError(400, f"fault {name!r} takes no parameter {key!r}")
        params[key] = check_param(key, schema[key][0], value)
    for key, (_, default) in schema.items():
        if key not in params and default is not None:
            params[key] = default
    if name == "swapped_serial" and "serial" not in params:
        params["serial"] = default_serial
    return name, params


def validate_state(body):
    if not isinstance(body, dict) or not body:
        raise ApiError(400, "body must be a non-empty object")
    changes = {}
    for key, value in body.items():
        if key in ("serial", "model"):
            changes[key] = check_param(key, "text", value)
        elif key in ("clock_skew",):
            changes[key] = check_param(key, "number", value)
        elif key == "recording_lag":
            changes[key] = check_param(key, "duration", value)
        elif key == "sd":
            if value not in SD_STATES:
                raise ApiError(400, f"sd must be one of {list(SD_STATES)}")
            changes[key] = value
        else:
            raise ApiError(400, f"unknown state key {key!r}")
    return changes


def validate_event(body, camera):
    """(topic, source items, data items, operation) of a POST /cameras/ID/event."""
    if not isinstance(body, dict) or "topic" not in body:
        raise ApiError(400, 'body must be an object with "topic"')
    unknown = sorted(set(body) - {"topic", "source", "data", "operation"})
    if unknown:
        raise ApiError(400, f"unknown keys {unknown}")
    if not camera.conf["events"]:
        raise ApiError(400, f"camera {camera.id} offers no events (\"events\": false)")
    topic = body["topic"]
    if topic not in camera.conf["event_topics"]:
        raise ApiError(400, f"camera {camera.id} does not offer topic {topic!r}; it offers "
                            f"{camera.conf['event_topics']}")
    operation = body.get("operation", "Changed")
    if operation not in PROPERTY_OPERATIONS:
        raise ApiError(400, f"operation must be one of {list(PROPERTY_OPERATIONS)}")
    out = []
    for key in ("source", "data"):
        items = body.get(key, {})
        if not isinstance(items, dict):
            raise ApiError(400, f"{key} must be an object of item names to values")
        pairs = []
        for name, value in items.items():
            if not re.fullmatch(r"[A-Za-z_][\w.-]{0,63}", name):
                raise ApiError(400, f"{key}: {name!r} is not an item name")
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, (int, float)):
                value = str(value)
            pairs.append((name, check_param(f"{key}.{name}", "text", value)))
        out.append(pairs)
    return topic, out[0], dict(out[1]), operation


# ---------------------------------------------------------------- the camera


class EventMessage:
    """One notification: topic, camera time, PropertyOperation (None for a
    topic that is not a property), Source and Data items as (name, value)."""

    __slots__ = ("topic", "utc", "operation", "source", "data")

    def __init__(self, topic, utc, operation, source, data):
        self.topic, self.utc, self.operation = topic, utc, operation
        self.source, self.data = source, data


class Subscription:
    """A PullPoint subscription: its termination time (camera clock), the
    relative duration a PullMessages renews it by (None when it was absolute),
    its topic filter ([[topic, subtree], ...] or None: every topic) and queue."""

    def __init__(self, idx, created, termination, relative, selected):
        self.idx = idx
        self.created = created
        self.termination = termination
        self.relative = relative
        self.filter = selected
        self.queue = collections.deque()
        self.wakeup = asyncio.Event()
        self.alive = True
        self.waiting = 0
        self.pulls = 0
        self.delivered = 0
        self.renewals = 0

    def selects(self, topic):
        return self.filter is None or any(
            topic == t or (subtree and topic.startswith(t + "/")) for t, subtree in self.filter)


class Camera:
    """One simulated camera: its listener, device state, fault and counters."""

    def __init__(self, conf, opts, log):
        self.conf = conf
        self.id = conf["id"]
        self.opts = opts
        self.log = log
        self.port = conf["port"]            # the bound port once listening
        self.server = None
        self.transports = set()
        self.opaque = secrets.token_hex(8)
        self.tls = None                     # {"cert", "key"} presented now
        self.rebooting = None               # the task that listens again after a restart
        self.ssl = None                     # its context, shared by the listener
        if "tls" in conf:
            self.ssl = tls_context(conf["tls"]["cert"], conf["tls"]["key"])
            self.tls = dict(conf["tls"])
        self.reset()

    # -- state

    def reset(self):
        conf = self.conf
        self.state = {"serial": conf["serial"], "model": conf["model"],
                      "clock_skew": 0.0, "recording_lag": 0.0, "sd": "ok"}
        self.sd_frozen = None               # camera time recording stopped (state sd)
        self.fault = None
        self.params = {}
        self.fault_frozen = None            # camera time recording stopped (fault)
        self.counters = {
            "requests": collections.Counter(), "responses": collections.Counter(),
            "closed_after": collections.Counter(),
            "http_requests": 0, "connections": 0, "auth_ok": 0, "auth_fail": 0,
            "auth_challenge": 0, "both_auth": 0, "last_auth": None,
            "last_auth_error": None, "last_digest_algorithm": None}
        # CLOCK_MONOTONIC (the daemon's clock too) of the last liveness requests.
        self.liveness_at = collections.deque(maxlen=64)
        self.digest_nonces = collections.OrderedDict()   # nonce -> [issued, last nc]
        self.wsse_nonces = collections.OrderedDict()     # nonce bytes -> expiry
        if getattr(self, "subscriptions", None):
            self.drop_subscriptions()
        self.subscriptions = {}             # Idx -> Subscription
        self.next_subscription = 0
        self.properties = {}                # topic -> {source items: data items}
        self.event_counters = {"events_injected": 0, "events_queued": 0,
                               "events_dropped": 0, "subscriptions_created": 0,
                               "subscriptions_expired": 0, "subscriptions_refused": 0,
                               "restarts": 0}

    def now(self):
        """The camera's clock, seconds since the epoch."""
        skew = self.state["clock_skew"]
        if self.fault == "clock_skew":
            skew += self.params["seconds"]
        return time.time() + skew

    def fault_for(self, op):
        """The fault that applies to a request for op (None: unidentified)."""
        if self.fault is None:
            return None
        ops = self.params.get("ops")
        if ops is not None and op not in ops:
            return None
        return self.fault

    def model(self, op="GetDeviceInformation"):
        if self.fault_for(op) == "wrong_model":
            return self.params["model"]
        return self.state["model"]

    def serial(self, op="GetDeviceInformation"):
        if self.fault_for(op) == "swapped_serial":
            return self.params["serial"]
        return self.state["serial"]

    def sd_status(self, op):
        """("error"|"stopped"|"ok", camera time recording stopped or None)."""
        if self.fault_for(op) == "sd_error":
            return "error", self.fault_frozen
        if self.state["sd"] != "ok":
            return self.state["sd"], self.sd_frozen
        return "ok", None

    def recording_summary(self):
        """(DataFrom, DataUntil, NumberRecordings) in camera time."""
        op = "GetRecordingSummary"
        sd, frozen = self.sd_status(op)
        if sd == "error":
            return frozen, frozen, 0
        if self.fault_for(op) == "recording_stopped":
            until = self.fault_frozen
        elif sd == "stopped":
            until = frozen
        else:
            until = self.now() - self.state["recording_lag"]
        return until - RECORDING_SPAN, until, 1

    async def set_fault(self, name, params):
        was_down = self.fault == "down"
        self.fault, self.params = name, params
        self.fault_frozen = None
        if name == "recording_stopped":
            self.fault_frozen = self.now() - params["lag"]
        elif name == "sd_error":
            self.fault_frozen = self.now()
        if name == "down":
            self.stop_listening()
        elif was_down:
            await self.listen()
        self.log.event(f"control: cam={self.id} fault={name} params={json.dumps(params)}")

    def set_state(self, changes):
        if "clock_skew" in changes:
            self.state["clock_skew"] = changes["clock_skew"]
        for key in ("serial", "model", "recording_lag"):
            if key in changes:
                self.state[key] = changes[key]
        if "sd" in changes and changes["sd"] != self.state["sd"]:
            self.state["sd"] = changes["sd"]
            self.sd_frozen = (None if changes["sd"] == "ok"
                              else self.now() - self.state["recording_lag"])
        self.log.event(f"control: cam={self.id} state={json.dumps(changes)}")

    async def restore(self):
        was_down = self.fault == "down" or self.rebooting is not None
        if self.rebooting is not None:
            self.rebooting.cancel()
            self.rebooting = None
        self.reset()
        if self.ssl is not None and self.tls != self.conf["tls"]:
            await self.present(tls_context(self.conf["tls"]["cert"], self.conf["tls"]["key"]),
                               dict(self.conf["tls"]))
        if was_down:
            await self.listen()

    def snapshot(self):
        c = self.counters
        now = self.now()
        return {
            "id": self.id, "address": self.conf["address"], "port": self.port,
            "auth": self.conf["auth"], "listening": self.server is not None,
            "fault": self.fault, "params": dict(self.params), "state": dict(self.state),
            "identity": {"manufacturer": self.conf["manufacturer"], "model": self.model(),
                         "serial": self.serial(), "firmware": self.conf["firmware"],
                         "hardware_id": self.conf["hardware_id"], "mac": self.conf["mac"]},
            "camera_time": xs_datetime(now), "clock_offset": round(now - time.time(), 3),
            "requests": dict(c["requests"]), "responses": dict(c["responses"]),
            "closed_after": dict(c["closed_after"]),
            "http_requests": c["http_requests"], "connections": c["connections"],
            "liveness_at": list(self.liveness_at),
            "open_connections": len(self.transports),
            "auth_ok": c["auth_ok"], "auth_fail": c["auth_fail"],
            "auth_challenge": c["auth_challenge"], "both_auth": c["both_auth"],
            "last_auth": c["last_auth"], "last_auth_error": c["last_auth_error"],
            "last_digest_algorithm": c["last_digest_algorithm"],
            "tls": None if self.tls is None else dict(self.tls),
            "events": self.events_snapshot(),
        }

    # -- listener

    async def listen(self):
        if self.server is not None:
            return
        try:
            sock = listen_socket(self.conf["address"], self.port)
        except OSError as exc:
            raise OSError(exc.errno, f"camera {self.id} on {self.conf['address']}:"
                                     f"{self.port}: {exc.strerror}") from None
        self.port = sock.getsockname()[1]
        tls = {} if self.ssl is None else {
            "ssl": self.ssl, "ssl_handshake_timeout": self.opts.idle_timeout}
        self.server = await asyncio.start_server(self.on_connect, sock=sock,
                                                 limit=MAX_HEADER_BYTES, **tls)

    async def set_tls(self, body):
        if self.ssl is None:
            raise ApiError(400, f"camera {self.id} has no TLS listener (no \"tls\" in its entry)")
        await self.present(*validate_tls(body))
        self.log.event(f"control: cam={self.id} tls cert={self.tls['cert']}")

    async def present(self, ctx, tls):
        """Another certificate from now on: a new context (no TLS session of the
        old one resumes) on a new listener, open connections reset, as when
        another device takes over the address."""
        self.ssl, self.tls = ctx, tls
        if self.server is not None:
            self.stop_listening()
            await self.listen()

    def stop_listening(self):
        if self.server is not None:
            self.server.close()
            self.server = None
        for transport in list(self.transports):
            transport.abort()

    async def on_connect(self, reader, writer):
        transport = writer.transport
        self.transports.add(transport)
        self.counters["connections"] += 1
        conn = {"op": None}     # the operation of its last request

        def gone():
            if conn["op"]:
                self.counters["closed_after"][conn["op"]] += 1
        try:
            await serve_http(reader, writer, lambda req: self.handle(req, conn),
                             self.opts.idle_timeout, on_gone=gone,
                             keepalive=self.conf.get("keepalive"))
        finally:
            self.transports.discard(transport)

    # -- requests

    async def handle(self, req, conn=None):
        started = time.monotonic()
        counters = self.counters
        counters["http_requests"] += 1
        route = ENDPOINTS.get(req.path)
        soap = None
        if (route in SOAP_ENDPOINTS and req.method == "POST"
                and soap_media_ok(req.headers.get("content-type")) and req.body.strip()):
            soap = parse_soap(req.body)
        if soap is not None and soap.error is None:
            op = soap.local
        elif route == "getinfo" and req.method == "GET":
            op = "getinfo"
        else:
            op = None
        if op:
            counters["requests"][op] += 1
        if conn is not None:
            conn["op"] = op
        resp = await self.respond(req, route, soap, op)
        if resp.hold is None:
            resp.headers.append(("Date", email.utils.formatdate(self.now(), usegmt=True)))
            counters["responses"][str(resp.status)] += 1
        self.log.request(self.id, req, op, resp, started)
        return resp

    async def respond(self, req, route, soap, op):
        fault = self.fault_for(op)
        if fault == "trickle":
            resp = await self.respond_normally(req, route, soap, op)
            resp.drip = lambda: self.params["interval"] if self.fault == "trickle" else None
            return resp
        if fault == "silent":
            return Response(0, hold=lambda: self.fault == "silent")
        if fault == "slow":
            await asyncio.sleep(self.params["delay"])
        elif fault == "http500":
            return html_response(500)
        elif fault == "huge_body":
            return self.huge_body(route)
        return await self.respond_normally(req, route, soap, op)

    async def respond_normally(self, req, route, soap, op):
        if route == "getinfo":
            return self.cgi_getinfo(req, op)
        if route in SOAP_ENDPOINTS:
            return await self.soap_endpoint(req, route, soap, op)
        return html_response(404)

    async def soap_endpoint(self, req, route, soap, op):
        if req.method != "POST":
            return html_response(405, [("Allow", "POST")])
        if not soap_media_ok(req.headers.get("content-type")):
            return html_response(415)
        if soap is None:            # no SOAP message at all (e.g. a Digest probe)
            return self.authenticate(req, None, op) or html_response(400)
        if soap.error is not None:
            return soap.error
        entry = OPERATIONS.get((route, soap.ns, soap.local))
        if entry is None or (route in EVENT_ENDPOINTS and not self.conf["events"]):
            return soap_fault("Receiver", "ter:ActionNotSupported",
                              "Optional Action Not Implemented")
        access, method = entry
        if access != "PRE_AUTH":
            refusal = self.authenticate(req, soap.security, op)
            if refusal is not None:
                return refusal
        resp = self.answer_fault(op)
        if resp is None:
            if route == "subscription":
                resp = await getattr(self, method)(soap, req)
            else:
                resp = getattr(self, method)(soap)
        if self.fault_for(op) == "deep_xml" and resp.status == 200:
            resp.body = deep_wrap(resp.body, self.params["depth"])
        return resp

    def answer_fault(self, op):
        fault = self.fault_for(op)
        if fault == "soap_fault":
            p = self.params
            return soap_fault(p["code"], p["subcode"], p["reason"])
        if fault == "garbage_xml":
            return Response(200, GARBAGE_XML, SOAP_CONTENT_TYPE)
        if fault == "xml_bomb":
            return Response(200, XML_BOMB, SOAP_CONTENT_TYPE)
        if fault == "xml_external_entity":
            return Response(200, XML_EXTERNAL_ENTITY, SOAP_CONTENT_TYPE)
        return None

    def huge_body(self, route):
        soap = route in SOAP_ENDPOINTS
        prefix = HUGE_SOAP_PREFIX if soap else HUGE_HTML_PREFIX
        suffix = HUGE_SOAP_SUFFIX if soap else HUGE_HTML_SUFFIX
        ctype = SOAP_CONTENT_TYPE if soap else HTML_CONTENT_TYPE
        if self.params["endless"]:
            async def endless(writer):
                writer.write(prefix)
                while self.fault == "huge_body":
                    writer.write(PAD_CHUNK)
                    await writer.drain()
            return Response(200, b"", ctype, stream=endless, close=True)
        size = self.params["size"]

        async def sized(writer):
            if size < len(prefix) + len(suffix):
                writer.write(b" " * size)
                await writer.drain()
                return
            writer.write(prefix)
            left = size - len(prefix) - len(suffix)
            view = memoryview(PAD_CHUNK)
            while left > 0:
                n = min(left, CHUNK)
                writer.write(view[:n])
                await writer.drain()
                left -= n
            writer.write(suffix)
            await writer.drain()
        return Response(200, b"", ctype, stream=sized, length=size)

    # -- authentication

    def authenticate(self, req, security, op, soap=True):
        """None when the request may go on, else the refusal to answer with."""
        c = self.counters
        mode = self.conf["auth"] if soap else "digest"
        authz = req.headers.get("authorization")
        if authz is not None and security is not None:
            c["both_auth"] += 1
        use_http = authz is not None and mode != "wsse"
        use_wsse = security is not None and mode != "digest"
        reject = self.fault_for(op) == "auth_reject"
        if not use_http and not use_wsse:
            if authz is None and security is None:
                c["auth_challenge"] += 1
                return not_authorized() if mode == "wsse" else self.challenge()
            reason = ("wsse: UsernameToken not accepted by this digest-only camera"
                      if security is not None else
                      "http: Authorization not accepted by this wsse-only camera")
            return self.auth_failed(reason, not_authorized())
        if use_http:
            check = self.verify_digest(req, authz, reject)
            if not check.ok:
                return self.auth_failed(check.reason, self.challenge(stale=check.stale))
            c["last_digest_algorithm"] = check.algorithm
        if use_wsse:
            reason = self.verify_wsse(security, reject)
            if reason is not None:
                return self.auth_failed(reason, not_authorized())
        c["auth_ok"] += 1
        c["last_auth"] = req.auth = ("both" if use_http and use_wsse
                                     else "digest" if use_http else "wsse")
        return None

    def auth_failed(self, reason, refusal):
        self.counters["auth_fail"] += 1
        self.counters["last_auth_error"] = reason
        return refusal

    def challenge(self, stale=False):
        nonce = secrets.token_hex(16)
        self.digest_nonces[nonce] = [time.monotonic(), 0]
        while len(self.digest_nonces) > DIGEST_NONCES_KEPT:
            self.digest_nonces.popitem(last=False)
        tail = ", stale=true" if stale else ""
        headers = [("WWW-Authenticate",
                    f'Digest realm="{self.conf["realm"]}", qop="auth", nonce="{nonce}", '
                    f'opaque="{self.opaque}", algorithm={algorithm}{tail}')
                   for algorithm in self.conf["digest_algorithms"]]
        return Response(401, html_page(401), HTML_CONTENT_TYPE, headers)

    def verify_digest(self, req, authz, reject):
        scheme, _, rest = authz.strip().partition(" ")
        if scheme.lower() != "digest":
            return DigestCheck(False, f"http: {scheme or 'empty'} scheme not accepted")
        p = parse_auth_params(rest)
        if p is None:
            return DigestCheck(False, "digest: unparsable Authorization header")
        missing = [k for k in ("username", "realm", "nonce", "uri", "response", "qop",
                               "nc", "cnonce") if not p.get(k)]
        if missing:
            return DigestCheck(False, f"digest: missing {', '.join(missing)}")
        offered = {a.lower(): a for a in self.conf["digest_algorithms"]}
        algorithm = offered.get(p.get("algorithm", "MD5").lower())
        if algorithm is None:
            return DigestCheck(False, "digest: algorithm not offered")
        if p["qop"].lower() != "auth":
            return DigestCheck(False, "digest: qop must be auth")
        if "opaque" in p and p["opaque"] != self.opaque:
            return DigestCheck(False, "digest: opaque changed")
        if p["username"] != self.conf["username"]:
            return DigestCheck(False, "digest: unknown user")
        if p["realm"] != self.conf["realm"]:
            return DigestCheck(False, "digest: wrong realm")
        if not uri_matches(p["uri"], req.target):
            return DigestCheck(False, "digest: uri does not match the request")
        if not re.fullmatch(r"[0-9a-fA-F]{8}", p["nc"]):
            return DigestCheck(False, "digest: nc must be 8 hex digits")
        expected = digest_expected(algorithm, self.conf["username"], self.conf["realm"],
                                   self.conf["password"], req.method, p)
        if not hmac.compare_digest(expected, p["response"].lower()):
            return DigestCheck(False, "digest: wrong response (password)")
        if reject:
            return DigestCheck(False, "auth_reject fault")
        entry = self.digest_nonces.get(p["nonce"])
        if entry is None or time.monotonic() - entry[0] > self.opts.nonce_lifetime:
            self.digest_nonces.pop(p["nonce"], None)
            return DigestCheck(False, "digest: stale or unknown nonce", stale=True)
        nc = int(p["nc"], 16)
        if nc <= entry[1]:
            return DigestCheck(False, "digest: replayed nc")
        entry[1] = nc
        return DigestCheck(True, algorithm=algorithm)

    def verify_wsse(self, security, reject):
        """None when the UsernameToken is good, else why not."""
        token = security.find(qn(NS_WSSE, "UsernameToken"))
        if token is None:
            return "wsse: no UsernameToken"
        user = token.find(qn(NS_WSSE, "Username"))
        password = token.find(qn(NS_WSSE, "Password"))
        nonce_el = token.find(qn(NS_WSSE, "Nonce"))
        created_el = token.find(qn(NS_WSU, "Created"))
        if user is None or (user.text or "").strip() != self.conf["username"]:
            return "wsse: unknown user"
        if password is None:
            return "wsse: no Password"
        if password.get("Type", WSS_PASSWORD_TEXT) != WSS_PASSWORD_DIGEST:
            return "wsse: only PasswordDigest is accepted"
        if nonce_el is None or not (nonce_el.text or "").strip():
            return "wsse: no Nonce"
        if nonce_el.get("EncodingType", WSS_BASE64) != WSS_BASE64:
            return "wsse: Nonce EncodingType must be Base64Binary"
        try:
            nonce = base64.b64decode(nonce_el.text.strip(), validate=True)
        except (binascii.Error, ValueError):
            return "wsse: Nonce is not Base64"
        if created_el is None or not (created_el.text or "").strip():
            return "wsse: no Created"
        created_text = created_el.text
        created = parse_xs_datetime(created_text.strip())
        if created is None:
            return "wsse: Created is not an xs:dateTime with a zone"
        expected = base64.b64encode(hashlib.sha1(
            nonce + created_text.encode("utf-8") + self.conf["password"].encode("utf-8")
        ).digest()).decode("ascii")
        if not hmac.compare_digest(expected, (password.text or "").strip()):
            return "wsse: wrong digest (password)"
        if reject:
            return "auth_reject fault"
        offset = created - self.now()
        if abs(offset) > self.opts.wsse_tolerance:
            return f"wsse: Created is {offset:+.1f} s off the camera clock"
        return self.remember_wsse_nonce(nonce)

    def remember_wsse_nonce(self, nonce):
        now = time.monotonic()
        cache = self.wsse_nonces
        while cache and next(iter(cache.values())) < now:
            cache.popitem(last=False)
        if nonce in cache:
            return "wsse: Nonce replayed"
        cache[nonce] = now + self.opts.wsse_nonce_memory
        while len(cache) > WSSE_NONCES_KEPT:
            cache.popitem(last=False)
        return None

    # -- ONVIF operations

    def op_get_system_date_and_time(self, soap):
        self.liveness_at.append(time.monotonic())
        now = self.now()
        inner = ("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
                 "<tt:DateTimeType>NTP</tt:DateTimeType>"
                 "<tt:DaylightSavings>false</tt:DaylightSavings>"
                 f"<tt:TimeZone><tt:TZ>{TZ_POSIX}</tt:TZ></tt:TimeZone>"
                 + date_time_xml("UTCDateTime", utc(now))
                 + date_time_xml("LocalDateTime", utc(now + TZ_OFFSET))
                 + "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>")
        return soap_response(inner)

    def base_url(self):
        scheme = "http" if self.ssl is None else "https"
        default_port = 80 if self.ssl is None else 443
        return (f"{scheme}://{self.conf['address']}"
                + ("" if self.port == default_port else f":{self.port}"))

    def op_get_services(self, soap):
        flag = soap.element.find(qn(NS_TDS, "IncludeCapability"))
        include = flag is not None and (flag.text or "").strip().lower() in ("true", "1")
        base = self.base_url()
        services = []
        for name, ns, path, (major, minor) in SERVICES:
            if name == "event" and not self.conf["events"]:
                continue
            caps = self.service_capabilities(name) if include else ""
            services.append(
                f"<tds:Service><tds:Namespace>{ns}</tds:Namespace>"
                f"<tds:XAddr>{base}{path}</tds:XAddr>{caps}"
                f"<tds:Version><tt:Major>{major}</tt:Major><tt:Minor>{minor}</tt:Minor>"
                "</tds:Version></tds:Service>")
        return soap_response("<tds:GetServicesResponse>" + "".join(services)
                             + "</tds:GetServicesResponse>")

    def service_capabilities(self, name):
        if name == "event":
            return (f'<tds:Capabilities><tev:Capabilities xmlns:tev="{NS_TEV}"'
                    ' WSSubscriptionPolicySupport="true" WSPullPointSupport="true"'
                    ' WSPausableSubscriptionManagerInterfaceSupport="false"'
                    f' MaxNotificationProducers="0" MaxPullPoints="{self.conf["max_pullpoints"]}"'
                    ' PersistentNotificationStorage="false"/></tds:Capabilities>')
        if name == "search":
            return ('<tds:Capabilities><tse:Capabilities MetadataSearch="false"'
                    ' GeneralStartEvents="false"/></tds:Capabilities>')
        mode = self.conf["auth"]
        wsse = "true" if mode in ("wsse", "any") else "false"
        digest = "true" if mode in ("digest", "any") else "false"
        hashes = " ".join(a for a in self.conf["digest_algorithms"] if "sess" not in a)
        return ("<tds:Capabilities><tds:Capabilities>"
                '<tds:Network NTP="1"/>'
                f'<tds:Security UsernameToken="{wsse}" HttpDigest="{digest}"'
                f' HashingAlgorithms="{hashes}"/>'
                '<tds:System SystemLogging="false"/>'
                "</tds:Capabilities></tds:Capabilities>")

    def op_get_device_information(self, soap):
        conf = self.conf
        inner = ("<tds:GetDeviceInformationResponse>"
                 f"<tds:Manufacturer>{escape(conf['manufacturer'])}</tds:Manufacturer>"
                 f"<tds:Model>{escape(self.model())}</tds:Model>"
                 f"<tds:FirmwareVersion>{escape(conf['firmware'])}</tds:FirmwareVersion>"
                 f"<tds:SerialNumber>{escape(self.serial())}</tds:SerialNumber>"
                 f"<tds:HardwareId>{escape(conf['hardware_id'])}</tds:HardwareId>"
                 "</tds:GetDeviceInformationResponse>")
        return soap_response(inner)

    def op_get_recording_summary(self, soap):
        data_from, data_until, count = self.recording_summary()
        inner = ("<tse:GetRecordingSummaryResponse><tse:Summary>"
                 f"<tt:DataFrom>{xs_datetime(data_from)}</tt:DataFrom>"
                 f"<tt:DataUntil>{xs_datetime(data_until)}</tt:DataUntil>"
                 f"<tt:NumberRecordings>{count}</tt:NumberRecordings>"
                 "</tse:Summary></tse:GetRecordingSummaryResponse>")
        return soap_response(inner)

    # -- ONVIF events (PullPoint)

    def topic_description(self, topic):
        return TOPIC_DESCRIPTIONS.get(topic, (False, (), ()))

    def property_states(self, topic):
        """{source items: data items} of a property topic, its defaults first."""
        states = self.properties.get(topic)
        if states is None:
            _, source, data = self.topic_description(topic)
            states = self.properties[topic] = {
                tuple((n, v) for n, _, v in source): tuple((n, v) for n, _, v in data)}
        return states

    def events_snapshot(self):
        now = self.now()
        self.expire_subscriptions()
        subs = []
        for sub in self.subscriptions.values():
            subs.append({
                "idx": sub.idx, "address": self.subscription_url(sub.idx),
                "created": xs_datetime(sub.created),
                "termination_time": xs_datetime(sub.termination),
                "seconds_left": round(sub.termination - now, 3),
                "relative": sub.relative, "filter": sub.filter,
                "queued": len(sub.queue), "waiting_pulls": sub.waiting,
                "pulls": sub.pulls, "delivered": sub.delivered, "renewals": sub.renewals})
        return {"enabled": self.conf["events"], "topics": list(self.conf["event_topics"]),
                "max_pullpoints": self.conf["max_pullpoints"], "subscriptions": subs,
                **self.event_counters}

    def subscription_url(self, idx):
        return f"{self.base_url()}{SUBSCRIPTION_PATH}?Idx={idx}"

    def expire_subscriptions(self):
        now = self.now()
        for idx, sub in list(self.subscriptions.items()):
            # A waiting PullMessages keeps a relative subscription alive.
            if sub.termination <= now and not (sub.waiting and sub.relative is not None):
                self.end_subscription(idx)
                self.event_counters["subscriptions_expired"] += 1

    def end_subscription(self, idx):
        sub = self.subscriptions.pop(idx, None)
        if sub is not None:
            sub.alive = False
            sub.wakeup.set()                # a waiting PullMessages answers the fault

    def drop_subscriptions(self):
        for idx in list(self.subscriptions):
            self.end_subscription(idx)

    def queue_message(self, sub, message):
        if len(sub.queue) >= QUEUE_LIMIT:
            sub.queue.popleft()
            self.event_counters["events_dropped"] += 1
        sub.queue.append(message)
        self.event_counters["events_queued"] += 1
        sub.wakeup.set()

    def initialized_messages(self, sub):
        """PropertyOperation="Initialized" for every property the subscription
        selects (ONVIF Core: a new subscription learns the current states)."""
        now = self.now()
        for topic in self.conf["event_topics"]:
            if not self.topic_description(topic)[0] or not sub.selects(topic):
                continue
            for source, data in self.property_states(topic).items():
                self.queue_message(sub, EventMessage(topic, now, "Initialized", source, data))

    def inject_event(self, topic, source, data, operation):
        """The control API's event: remembered as the property's state, queued
        to every live subscription that selects the topic. Returns how many."""
        self.expire_subscriptions()
        is_property, source_items, data_items = self.topic_description(topic)
        given_source = dict(source)
        src = tuple((n, given_source.pop(n, v)) for n, _, v in source_items) + tuple(
            given_source.items())
        if is_property:
            states = self.property_states(topic)
            base = dict(states.get(src, tuple((n, v) for n, _, v in data_items)))
        else:
            base = {n: v for n, _, v in data_items}
        base.update(data)
        items = tuple(base.items())
        if is_property:
            if operation == "Deleted":
                states.pop(src, None)
            else:
                states[src] = items
        message = EventMessage(topic, self.now(), operation if is_property else None, src, items)
        self.event_counters["events_injected"] += 1
        count = 0
        for sub in self.subscriptions.values():
            if sub.selects(topic):
                self.queue_message(sub, message)
                count += 1
        self.log.event(f"control: cam={self.id} event topic={topic} to={count}")
        return count

    async def restart(self, downtime):
        """The camera reboots: subscriptions, nonces and connections are lost;
        it listens again after downtime seconds."""
        self.drop_subscriptions()
        self.digest_nonces.clear()
        self.wsse_nonces.clear()
        self.event_counters["restarts"] += 1
        self.log.event(f"control: cam={self.id} restart downtime={downtime}")
        if self.rebooting is not None:
            self.rebooting.cancel()
            self.rebooting = None
        if self.fault == "down":
            return
        if downtime <= 0:
            for transport in list(self.transports):
                transport.abort()
            if self.server is None:
                await self.listen()
            return
        self.stop_listening()

        async def come_back():
            await asyncio.sleep(downtime)
            self.rebooting = None
            if self.fault != "down":
                try:
                    await self.listen()
                except OSError as exc:
                    print(f"onvif_sim: {exc}", file=sys.stderr)
        self.rebooting = asyncio.get_running_loop().create_task(come_back())

    def event_response(self, inner):
        return soap_response(inner, EVENT_ENVELOPE_OPEN)

    def invalid_arg(self, text):
        return soap_fault("Sender", "ter:InvalidArgVal", text)

    def op_get_event_capabilities(self, soap):
        return self.event_response(
            "<tev:GetServiceCapabilitiesResponse>"
            + self.service_capabilities("event")[len("<tds:Capabilities>"):
                                                 -len("</tds:Capabilities>")]
            + "</tev:GetServiceCapabilitiesResponse>")

    def op_get_event_properties(self, soap):
        tree = {}                           # nested dict of topic segments
        for topic in self.conf["event_topics"]:
            node = tree
            for segment in topic.split("/"):
                node = node.setdefault(segment, {})
            node[None] = topic              # a topic ends here
        inner = ("<tev:GetEventPropertiesResponse>"
                 f"<tev:TopicNamespaceLocation>{NS_TNS1}</tev:TopicNamespaceLocation>"
                 "<wsnt:FixedTopicSet>true</wsnt:FixedTopicSet>"
                 "<wstop:TopicSet>" + self.topic_set_xml(tree) + "</wstop:TopicSet>"
                 f"<wsnt:TopicExpressionDialect>{DIALECT_CONCRETE_SET}</wsnt:TopicExpressionDialect>"
                 f"<wsnt:TopicExpressionDialect>{DIALECT_CONCRETE}</wsnt:TopicExpressionDialect>"
                 f"<tev:MessageContentFilterDialect>{ITEM_FILTER}</tev:MessageContentFilterDialect>"
                 "<tev:MessageContentSchemaLocation>http://www.onvif.org/onvif/ver10/schema/"
                 "onvif.xsd</tev:MessageContentSchemaLocation>"
                 "</tev:GetEventPropertiesResponse>")
        return self.event_response(inner)

    def topic_set_xml(self, tree):
        out = []
        for segment, child in tree.items():
            if segment is None:
                continue
            # Child topics without a prefix are in no namespace, as in
            # ONVIF Core's examples (the envelope declares no default one).
            leaf = child.get(None)
            attr = ' wstop:topic="true"' if leaf else ""
            body = self.message_description_xml(leaf) if leaf else ""
            out.append(f"<{segment}{attr}>{body}{self.topic_set_xml(child)}</{segment}>")
        return "".join(out)

    def message_description_xml(self, topic):
        is_property, source, data = self.topic_description(topic)

        def items(tag, entries):
            return (f"<tt:{tag}>" + "".join(
                f'<tt:SimpleItemDescription Name="{n}" Type="{t}"/>' for n, t, _ in entries)
                + f"</tt:{tag}>") if entries else ""
        prop = ' IsProperty="true"' if is_property else ""
        return (f"<tt:MessageDescription{prop}>" + items("Source", source)
                + items("Data", data) + "</tt:MessageDescription>")

    def termination_fault(self, element, now):
        extra = (f"<wsnt:MinimumTime>{xs_datetime(now + 1)}</wsnt:MinimumTime>"
                 f"<wsnt:MaximumTime>{xs_datetime(now + MAX_TERMINATION)}</wsnt:MaximumTime>")
        return base_fault("Sender", element, "Termination time not acceptable", now, extra)

    def parse_termination(self, el, element, now):
        """(termination, relative) from an AbsoluteOrRelativeTimeType element,
        or the fault to answer."""
        got = parse_absolute_or_relative(el.text or "", now)
        if got is None:
            return self.invalid_arg("TerminationTime is neither xs:duration nor xs:dateTime")
        if not now < got[0] <= now + MAX_TERMINATION:
            return self.termination_fault(element, now)
        return got

    def op_create_pull_point(self, soap):
        now = self.now()
        el = soap.element
        selected = None
        filter_el = el.find(qn(NS_TEV, "Filter"))
        if filter_el is not None:
            selected = self.parse_filter(filter_el, soap.body, now)
            if isinstance(selected, Response):
                return selected
        termination, relative = now + DEFAULT_TERMINATION, DEFAULT_TERMINATION
        itt = el.find(qn(NS_TEV, "InitialTerminationTime"))
        if itt is not None and (itt.text or "").strip():
            got = self.parse_termination(itt, "wsnt:UnacceptableInitialTerminationTimeFault", now)
            if isinstance(got, Response):
                return got
            termination, relative = got
        policy = el.find(qn(NS_TEV, "SubscriptionPolicy"))
        changed_only = policy is not None and policy.find(qn(NS_TEV, "ChangedOnly")) is not None
        self.expire_subscriptions()
        if len(self.subscriptions) >= self.conf["max_pullpoints"]:
            self.event_counters["subscriptions_refused"] += 1
            return base_fault("Receiver", "wsnt:SubscribeCreationFailedFault",
                              f"Too many subscriptions (at most {self.conf['max_pullpoints']})",
                              now)
        idx = self.next_subscription
        self.next_subscription += 1
        sub = Subscription(idx, now, termination, relative, selected)
        self.subscriptions[idx] = sub
        self.event_counters["subscriptions_created"] += 1
        if not changed_only:
            self.initialized_messages(sub)
        inner = ("<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>"
                 f"<wsa:Address>{escape(self.subscription_url(idx))}</wsa:Address>"
                 "</tev:SubscriptionReference>"
                 f"<wsnt:CurrentTime>{xs_datetime(now)}</wsnt:CurrentTime>"
                 f"<wsnt:TerminationTime>{xs_datetime(termination)}</wsnt:TerminationTime>"
                 "</tev:CreatePullPointSubscriptionResponse>")
        return self.event_response(inner)

    def parse_filter(self, filter_el, body, now):
        """The topics a wsnt:Filter selects, as [[topic, subtree], ...], or the fault."""
        if filter_el.find(qn(NS_WSNT, "MessageContent")) is not None:
            return base_fault("Sender", "wsnt:InvalidMessageContentExpressionFault",
                              "Message content filters are not supported", now)
        prefixes = {}
        for event, item in ET.iterparse(io.BytesIO(body), events=("start-ns",)):
            prefixes.setdefault(item[0], item[1])   # [choice] the first binding wins
        uris = {uri: prefix for prefix, uri in TOPIC_NAMESPACES.items()}
        selected = []
        for expr_el in filter_el.findall(qn(NS_WSNT, "TopicExpression")):
            dialect = expr_el.get("Dialect", "")
            if dialect not in (DIALECT_CONCRETE_SET, DIALECT_CONCRETE):
                return base_fault("Sender", "wsnt:TopicExpressionDialectUnknownFault",
                                  "Topic expression dialect not supported", now)
            alternatives = (expr_el.text or "").split("|")
            if dialect == DIALECT_CONCRETE and len(alternatives) != 1:
                return base_fault("Sender", "wsnt:InvalidTopicExpressionFault",
                                  "Invalid topic expression", now)
            for alt in alternatives:
                alt = alt.strip()
                subtree = dialect == DIALECT_CONCRETE_SET and alt.endswith("//.")
                if subtree:
                    alt = alt[:-3]
                segments = []
                for i, segment in enumerate(alt.split("/")):
                    prefix, sep, name = segment.partition(":")
                    if not sep:
                        prefix, name = None, segment
                    if not re.fullmatch(r"[A-Za-z_][\w.-]*", name) or (i == 0 and not sep):
                        return base_fault("Sender", "wsnt:InvalidTopicExpressionFault",
                                          "Invalid topic expression", now)
                    if prefix is not None:
                        # An undeclared tns1/tnsipro1 is taken as ours, as
                        # real cameras match topic text leniently.
                        ours = uris.get(prefixes.get(prefix, TOPIC_NAMESPACES.get(prefix)))
                        if ours is None:
                            return base_fault("Sender", "wsnt:TopicNotSupportedFault",
                                              "Topic not supported", now)
                        name = f"{ours}:{name}"
                    segments.append(name)
                topic = "/".join(segments)
                if not any(t == topic or (subtree and t.startswith(topic + "/"))
                           for t in self.conf["event_topics"]):
                    return base_fault("Sender", "wsnt:TopicNotSupportedFault",
                                      "Topic not supported", now)
                selected.append([topic, subtree])
        return selected or None

    def subscription_for(self, req):
        """The live subscription the request's Idx names, or the fault."""
        self.expire_subscriptions()
        idx = parse_qs(req.query, keep_blank_values=True).get("Idx", [])
        sub = None
        if len(idx) == 1 and re.fullmatch(r"[0-9]{1,9}", idx[0]):
            sub = self.subscriptions.get(int(idx[0]))
        if sub is None:
            return self.resource_unknown()
        return sub

    def resource_unknown(self):
        return base_fault("Sender", "wsrf-rw:ResourceUnknownFault",
                          "No such subscription (unknown, ended or expired)", self.now())

    async def op_pull_messages(self, soap, req):
        sub = self.subscription_for(req)
        if isinstance(sub, Response):
            return sub
        timeout_el = soap.element.find(qn(NS_TEV, "Timeout"))
        limit_el = soap.element.find(qn(NS_TEV, "MessageLimit"))
        timeout = parse_xs_duration((timeout_el.text or "").strip()) if timeout_el is not None \
            else None
        limit = (limit_el.text or "").strip() if limit_el is not None else ""
        if timeout is None or timeout < 0 or not re.fullmatch(r"[0-9]{1,9}", limit) \
                or int(limit) < 1:
            return self.invalid_arg("PullMessages needs Timeout (xs:duration) and "
                                    "MessageLimit (a positive xs:int)")
        limit = int(limit)
        if timeout > MAX_PULL_TIMEOUT or limit > MAX_MESSAGE_LIMIT:
            return soap_fault(
                "Sender", "ter:InvalidArgVal", "Timeout or MessageLimit too large",
                f"<tev:PullMessagesFaultResponse><tev:MaxTimeout>{xs_duration(MAX_PULL_TIMEOUT)}"
                f"</tev:MaxTimeout><tev:MaxMessageLimit>{MAX_MESSAGE_LIMIT}</tev:MaxMessageLimit>"
                "</tev:PullMessagesFaultResponse>")
        sub.pulls += 1
        if sub.relative is not None:        # a pull keeps a relative subscription alive
            sub.termination = self.now() + sub.relative
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        sub.waiting += 1
        try:
            while sub.alive and not sub.queue:
                left = deadline - loop.time()
                if sub.relative is None:    # an absolute one ends at its time
                    left = min(left, sub.termination - self.now())
                if left <= 0:
                    break
                sub.wakeup.clear()
                try:
                    await asyncio.wait_for(sub.wakeup.wait(), left)
                except asyncio.TimeoutError:
                    break
        finally:
            sub.waiting -= 1
        if sub.alive and sub.relative is not None:
            sub.termination = self.now() + sub.relative
        elif sub.alive and sub.termination <= self.now():
            self.end_subscription(sub.idx)
            self.event_counters["subscriptions_expired"] += 1
        if not sub.alive:
            return self.resource_unknown()
        messages = [sub.queue.popleft() for _ in range(min(limit, len(sub.queue)))]
        sub.delivered += len(messages)
        now = self.now()
        inner = ("<tev:PullMessagesResponse>"
                 f"<tev:CurrentTime>{xs_datetime(now)}</tev:CurrentTime>"
                 f"<tev:TerminationTime>{xs_datetime(sub.termination)}</tev:TerminationTime>"
                 + "".join(self.notification_xml(sub, m) for m in messages)
                 + "</tev:PullMessagesResponse>")
        return self.event_response(inner)

    def notification_xml(self, sub, m):
        def items(tag, pairs):
            return (f"<tt:{tag}>" + "".join(
                f'<tt:SimpleItem Name="{escape(n, QUOTE)}" Value="{escape(v, QUOTE)}"/>'
                for n, v in pairs) + f"</tt:{tag}>")
        op = f' PropertyOperation="{m.operation}"' if m.operation else ""
        return ("<wsnt:NotificationMessage>"
                "<wsnt:SubscriptionReference><wsa:Address>"
                f"{escape(self.subscription_url(sub.idx))}</wsa:Address>"
                "</wsnt:SubscriptionReference>"
                f'<wsnt:Topic Dialect="{DIALECT_CONCRETE_SET}">{m.topic}</wsnt:Topic>'
                f"<wsnt:ProducerReference><wsa:Address>{escape(self.base_url())}{EVENT_PATH}"
                "</wsa:Address></wsnt:ProducerReference>"
                f'<wsnt:Message><tt:Message UtcTime="{xs_datetime(m.utc)}"{op}>'
                + items("Source", m.source) + items("Data", m.data)
                + "</tt:Message></wsnt:Message></wsnt:NotificationMessage>")

    async def op_set_sync_point(self, soap, req):
        sub = self.subscription_for(req)
        if isinstance(sub, Response):
            return sub
        self.initialized_messages(sub)
        return self.event_response("<tev:SetSynchronizationPointResponse/>")

    async def op_renew(self, soap, req):
        sub = self.subscription_for(req)
        if isinstance(sub, Response):
            return sub
        now = self.now()
        el = soap.element.find(qn(NS_WSNT, "TerminationTime"))
        if el is None or not (el.text or "").strip():
            return self.invalid_arg("Renew needs a TerminationTime")
        got = self.parse_termination(el, "wsnt:UnacceptableTerminationTimeFault", now)
        if isinstance(got, Response):
            return got
        sub.termination, sub.relative = got
        sub.renewals += 1
        return self.event_response(
            "<wsnt:RenewResponse>"
            f"<wsnt:TerminationTime>{xs_datetime(sub.termination)}</wsnt:TerminationTime>"
            f"<wsnt:CurrentTime>{xs_datetime(now)}</wsnt:CurrentTime></wsnt:RenewResponse>")

    async def op_unsubscribe(self, soap, req):
        sub = self.subscription_for(req)
        if isinstance(sub, Response):
            return sub
        self.end_subscription(sub.idx)
        return self.event_response("<wsnt:UnsubscribeResponse/>")

    # -- i-PRO CGI

    def cgi_getinfo(self, req, op):
        if req.method != "GET":
            return html_response(405, [("Allow", "GET")])
        refusal = self.authenticate(req, None, op, soap=False)
        if refusal is not None:
            return refusal
        if parse_qs(req.query, keep_blank_values=True) != {"FILE": ["1"]}:
            return html_response(400)
        sd, _ = self.sd_status(op)
        sdrec = {"ok": "enable", "stopped": "disable", "error": "enable"}[sd]
        model = self.model(op)
        lines = [
            f"MAC={self.conf['mac']}", f"SERIAL={self.serial(op)}",
            f"VERSION={self.conf['firmware']}", f"NAME={model}",
            f"SDrec={sdrec}", "SDrec2=disable", "sAlarm=OFF", "sAUX=off",
            "StreamMode=1", "iTransmit_h264=1", "iResolution_h264=1920",
            f"PRODUCT_NAME={model}", "DESTINATION=P"]
        # As ../shared/real-onvif/ipro-getinfo.txt: BOM, CRLF, an empty line.
        body = ("\ufeff\r\n<HTML>\r\n" + "\r\n".join(lines)
                + "\r\n</HTML>\r\n").encode("utf-8")
        return Response(200, body, HTML_CONTENT_TYPE)


def deep_wrap(body, depth):
    """The answer's Body content wrapped in depth nested elements."""
    head, sep, rest = body.partition(b"<env:Body>")
    inner, sep2, tail = rest.rpartition(b"</env:Body>")
    if not sep or not sep2:
        return body
    return (head + sep + b"<tt:Deep>" * depth + inner + b"</tt:Deep>" * depth
            + sep2 + tail)


def date_time_xml(tag, moment):
    return (f"<tt:{tag}><tt:Time><tt:Hour>{moment.hour}</tt:Hour>"
            f"<tt:Minute>{moment.minute}</tt:Minute><tt:Second>{moment.second}</tt:Second>"
            f"</tt:Time><tt:Date><tt:Year>{moment.year}</tt:Year>"
            f"<tt:Month>{moment.month}</tt:Month><tt:Day>{moment.day}</tt:Day>"
            f"</tt:Date></tt:{tag}>")


# ---------------------------------------------------------------- simulator and control API


class Simulator:
    """The camera table and the control API."""

    def __init__(self, confs, opts, log):
        self.opts = opts
        self.log = log
        self.cameras = {conf["id"]: Camera(conf, opts, log) for conf in confs}
        self.control = None
        self.control_address = None

    async def start(self, control):
        for camera in self.cameras.values():
            await camera.listen()
        sock = listen_socket(*control)
        self.control_address = sock.getsockname()
        self.control = await asyncio.start_server(self.on_control, sock=sock,
                                                  limit=MAX_HEADER_BYTES)

    def close(self):
        if self.control is not None:
            self.control.close()
        for camera in self.cameras.values():
            camera.stop_listening()

    def ready_info(self):
        host, port = self.control_address
        return {"pid": os.getpid(), "control": f"{host}:{port}",
                "cameras": [{"id": c.id, "address": c.conf["address"], "port": c.port,
                             "tls": c.ssl is not None}
                            for c in self.cameras.values()]}

    async def on_control(self, reader, writer):
        await serve_http(reader, writer, self.control_request, self.opts.idle_timeout)

    async def control_request(self, req):
        try:
            return await self.route(req)
        except ApiError as exc:
            return json_response(exc.status, {"error": exc.message})

    async def route(self, req):
        parts = [unquote(p) for p in req.path.split("/") if p]
        if parts == ["reset"]:
            self.require(req, "POST")
            for camera in self.cameras.values():
                await camera.restore()
            self.log.event("control: reset all cameras")
            return json_response(200, {"ok": True})
        if parts == ["cameras"]:
            self.require(req, "GET")
            return json_response(200, [c.snapshot() for c in self.cameras.values()])
        if len(parts) in (2, 3) and parts[0] == "cameras":
            camera = self.cameras.get(parts[1])
            if camera is None:
                raise ApiError(404, f"no camera {parts[1]!r}")
            return await self.camera_route(req, camera, parts[2] if len(parts) == 3 else None)
        raise ApiError(404, f"no such resource {req.path!r}")

    async def camera_route(self, req, camera, sub):
        if sub is None and req.method == "GET":
            return json_response(200, camera.snapshot())
        self.require(req, "POST")
        if sub is None:
            name, params = validate_fault(self.json_body(req), swapped(camera.state["serial"]))
            try:
                await camera.set_fault(name, params)
            except OSError as exc:
                raise ApiError(500, f"cannot listen again: {exc}") from None
        elif sub == "state":
            camera.set_state(validate_state(self.json_body(req)))
        elif sub == "tls":
            try:
                await camera.set_tls(self.json_body(req))
            except OSError as exc:
                raise ApiError(500, f"cannot listen again: {exc}") from None
        elif sub == "reset":
            await camera.restore()
        elif sub == "forget-auth-error":
            camera.counters["last_auth_error"] = None
        elif sub == "event":
            topic, source, data, operation = validate_event(self.json_body(req), camera)
            delivered = camera.inject_event(topic, source, data, operation)
            return json_response(200, {"delivered": delivered, **camera.snapshot()})
        elif sub == "restart":
            body = self.json_body(req)
            if body is None:
                body = {}
            if not isinstance(body, dict) or set(body) - {"downtime"}:
                raise ApiError(400, 'body must be {} or {"downtime": seconds}')
            downtime = check_param("downtime", "duration", body.get("downtime", 0))
            try:
                await camera.restart(downtime)
            except OSError as exc:
                raise ApiError(500, f"cannot listen again: {exc}") from None
        else:
            raise ApiError(404, f"no such resource {req.path!r}")
        return json_response(200, camera.snapshot())

    @staticmethod
    def require(req, method):
        if req.method != method:
            raise ApiError(405, f"use {method}")

    @staticmethod
    def json_body(req):
        try:
            return json.loads(req.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError) as exc:
            raise ApiError(400, f"body is not JSON: {exc}") from None


def swapped(serial):
    """A plausible other serial number, the default of swapped_serial."""
    return "SW" + hashlib.sha1(serial.encode()).hexdigest()[:6].upper()


# ---------------------------------------------------------------- main


def raise_nofile_limit(cameras):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in (hard, 1 << 20):
        if target == resource.RLIM_INFINITY:
            continue
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
            break
        except (ValueError, OSError):
            continue
    if soft != resource.RLIM_INFINITY and soft < cameras + 64:
        print(f"onvif_sim: warning: only {soft} file descriptors for {cameras} cameras",
              file=sys.stderr)


def write_ready_file(path, info):
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(info, f)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


async def run(confs, control, opts, log, ready_file):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sim = Simulator(confs, opts, log)
    try:
        await sim.start(control)
    except OSError as exc:
        print(f"onvif_sim: cannot listen: {exc}", file=sys.stderr)
        sim.close()
        return 1
    info = sim.ready_info()
    if ready_file:
        write_ready_file(ready_file, info)
    print(f"onvif_sim: {len(confs)} cameras listening, control on {info['control']}",
          file=sys.stderr)
    await stop.wait()
    sim.close()
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="onvif_sim.py", description="Simulated i-PRO ONVIF cameras on loopback "
                                          "addresses (see the module docstring).")
    parser.add_argument("--cameras", required=True, help="CAMERAS.json")
    parser.add_argument("--control", required=True, help="127.0.0.1:PORT of the control API")
    parser.add_argument("--ready-file", help="written atomically once every listener is bound")
    parser.add_argument("--log", help="append one line per request here")
    parser.add_argument("--idle-timeout", type=float, default=30.0)
    parser.add_argument("--nonce-lifetime", type=float, default=300.0)
    parser.add_argument("--wsse-tolerance", type=float, default=5.0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        confs = load_cameras(args.cameras)
        control = parse_loopback_endpoint(args.control)
        for name in ("idle_timeout", "nonce_lifetime", "wsse_tolerance"):
            value = getattr(args, name)
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be a positive number")
    except ConfigError as exc:
        print(f"onvif_sim: {exc}", file=sys.stderr)
        return 2
    raise_nofile_limit(len(confs))
    opts = Options(args.idle_timeout, args.nonce_lifetime, args.wsse_tolerance)
    log = RequestLog(args.log)
    try:
        return asyncio.run(run(confs, control, opts, log, args.ready_file))
    finally:
        log.close()


if __name__ == "__main__":
    sys.exit(main())
