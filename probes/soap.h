/* SPDX-License-Identifier: MIT */
#pragma once

/* SOAP 1.2 for ONVIF: request envelopes (with an optional WS-Security
 * UsernameToken), and response parsing with libxml2 — no network access,
 * no entity expansion, no DTD at all (SOAP 1.2 forbids one). Elements are
 * matched by namespace URI and local name, never by prefix. */

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define NS_SOAP_ENV "http://www.w3.org/2003/05/soap-envelope"
#define NS_ONVIF_DEVICE "http://www.onvif.org/ver10/device/wsdl"
#define NS_ONVIF_SCHEMA "http://www.onvif.org/ver10/schema"
#define NS_ONVIF_SEARCH "http://www.onvif.org/ver10/search/wsdl"
#define NS_ONVIF_EVENTS "http://www.onvif.org/ver10/events/wsdl"
#define NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define NS_WSU "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

#define SOAP_ERROR_MAX 200

/* The request envelope around a body, without a header, as a string
 * literal: the requests without WS-Security are constants. */
#define SOAP_ENVELOPE_HEAD                                                                  \
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><s:Envelope xmlns:s=\"" NS_SOAP_ENV "\">"
#define SOAP_ENVELOPE(body) SOAP_ENVELOPE_HEAD "<s:Body>" body "</s:Body></s:Envelope>"

/* The UsernameToken PasswordDigest of the OASIS profile:
 * Base64(SHA1(nonce || created || password)). nonce is raw bytes. Writes
 * the Base64 text (28 characters and NUL) to ret. */
int soap_wsse_digest(const unsigned char *nonce, size_t nonce_len, const char *created,
                     const char *password, char ret[static 29]);

/* Builds a request envelope around body (an element in its own namespace).
 * With username and password set, adds a wsse:Security header whose Created
 * is `created` (the camera's clock) and whose Nonce is fresh random bytes.
 * username must already be XML-escaped. Caller frees *ret. */
int soap_build_request(const char *body, const char *username, const char *password,
                       time_t created, char **ret, size_t *ret_len);

/* Parses a response, with one parser context kept for all (reset for
 * each answer; not thread-safe). On success returns 0 with the document and its Body
 * element. A SOAP Fault is -EPROTO with its code and reason in err; XML that
 * is not well formed, carries a DTD or is not a SOAP 1.2 envelope is
 * -EBADMSG with a description in err. */
int soap_parse_response(const char *buf, size_t len, xmlDoc **ret_doc, xmlNode **ret_body,
                        char err[static SOAP_ERROR_MAX]);

/* Frees the kept parser context (at exit; the next parse makes a new one). */
void soap_parser_release(void);

/* The liveness answer's one value, read without building a tree (issue 18:
 * the DOM of every answer cost as much as the rest of a probe): the UTC
 * time of a GetSystemDateAndTimeResponse in a SOAP 1.2 envelope, as the
 * seconds since the epoch. -EAGAIN for anything else — a fault, a DTD, a
 * missing or invalid field, XML that is not well-formed — for which the
 * caller takes the full path (soap_parse_response), which says what is
 * wrong. */
int soap_parse_time_fast(const char *buf, size_t len, time_t *ret);

/* The first child element of node with namespace ns and local name name. */
xmlNode *xml_child(const xmlNode *node, const char *ns, const char *name);

/* The first element below node (depth-first, at most 16 levels) with ns and name. */
xmlNode *xml_descendant(const xmlNode *node, const char *ns, const char *name);

/* Copies the trimmed text content of node into buf (truncating). Returns
 * false when node is NULL or has no text. */
bool xml_text(const xmlNode *node, char *buf, size_t size);

/* Parses an xs:dateTime in UTC ("2026-11-25T05:00:00Z", fractions and
 * offsets allowed). */
int xml_parse_datetime(const char *s, time_t *ret);
