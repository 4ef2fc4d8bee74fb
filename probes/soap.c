/* SPDX-License-Identifier: MIT */

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "soap.h"
#include "text.h"
#include "timeutil.h"

#define XML_DEPTH_MAX 16

int soap_wsse_digest(const unsigned char *nonce, size_t nonce_len, const char *created,
                     const char *password, char ret[static 29]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        EVP_MD_CTX *ctx;
        int ok;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
             EVP_DigestUpdate(ctx, nonce, nonce_len) &&
             EVP_DigestUpdate(ctx, created, strlen(created)) &&
             EVP_DigestUpdate(ctx, password, strlen(password)) &&
             EVP_DigestFinal_ex(ctx, md, &md_len);
        EVP_MD_CTX_free(ctx);
        if (!ok || md_len != 20)
                return -EIO;
        /* 20 bytes are 28 Base64 characters. */
        (void) EVP_EncodeBlock((unsigned char *) ret, md, (int) md_len);
        return 0;
}

static const char wsse_format[] =
        "<s:Header><wsse:Security s:mustUnderstand=\"1\" xmlns:wsse=\"" NS_WSSE "\" "
        "xmlns:wsu=\"" NS_WSU "\"><wsse:UsernameToken><wsse:Username>%s</wsse:Username>"
        "<wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/"
        "oasis-200401-wss-username-token-profile-1.0#PasswordDigest\">%s</wsse:Password>"
        "<wsse:Nonce EncodingType=\"http://docs.oasis-open.org/wss/2004/01/"
        "oasis-200401-wss-soap-message-security-1.0#Base64Binary\">%s</wsse:Nonce>"
        "<wsu:Created>%s</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>";

int soap_build_request(const char *body, const char *username, const char *password,
                       time_t created, char **ret, size_t *ret_len) {
        char header[1024] = "", digest[29], nonce_b64[25], stamp[32];
        unsigned char nonce[16];
        struct tm tm;
        char *buf;
        int r, len;

        if (username && password) {
                if (RAND_bytes(nonce, sizeof(nonce)) != 1 || !gmtime_r(&created, &tm))
                        return -EIO;
                (void) strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
                r = soap_wsse_digest(nonce, sizeof(nonce), stamp, password, digest);
                if (r < 0)
                        return r;
                (void) EVP_EncodeBlock((unsigned char *) nonce_b64, nonce, sizeof(nonce));
                r = snprintf(header, sizeof(header), wsse_format, username, digest, nonce_b64,
                             stamp);
                explicit_bzero(digest, sizeof(digest));
                if (r < 0 || (size_t) r >= sizeof(header))
                        return -ENAMETOOLONG;
        }
        /* One allocation of the exact size. */
        len = asprintf(&buf, "%s%s<s:Body>%s</s:Body></s:Envelope>", SOAP_ENVELOPE_HEAD, header,
                       body);
        explicit_bzero(header, sizeof(header));
        if (len < 0)
                return -ENOMEM;
        *ret = buf;
        *ret_len = (size_t) len;
        return 0;
}

/* ======================================================================== */

typedef struct ParseState {
        bool dtd;
        internalSubsetSAXFunc internal_subset;
} ParseState;

/* SOAP 1.2 forbids a document type declaration: stop at the first sight of one,
 * before any entity can be declared, let alone expanded. */
static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id) {
        xmlParserCtxtPtr ctxt = ctx;
        ParseState *ps = ctxt->_private;

        (void) name;
        (void) external_id;
        (void) system_id;
        ps->dtd = true;
        xmlStopParser(ctxt);
}

static void soap_fault_text(const xmlNode *fault, char err[static SOAP_ERROR_MAX]) {
        char code[64] = "", sub[96] = "", reason[128] = "";
        const xmlNode *c, *s;

        c = xml_child(fault, NS_SOAP_ENV, "Code");
        (void) xml_text(xml_child(c, NS_SOAP_ENV, "Value"), code, sizeof(code));
        s = xml_child(c, NS_SOAP_ENV, "Subcode");
        (void) xml_text(xml_child(s, NS_SOAP_ENV, "Value"), sub, sizeof(sub));
        (void) xml_text(xml_descendant(xml_child(fault, NS_SOAP_ENV, "Reason"), NS_SOAP_ENV,
                                       "Text"),
                        reason, sizeof(reason));
        (void) snprintf(err, SOAP_ERROR_MAX, "SOAP fault %s%s%s%s%s", code[0] ? code : "(no code)",
                        sub[0] ? " / " : "", sub, reason[0] ? ": " : "", reason);
}

/* One context for every answer: xmlCtxtReadMemory() resets it, keeping its
 * buffers and dictionary (the element names of every answer are the same). */
static xmlParserCtxtPtr parser;

static xmlParserCtxtPtr time_parser;

void soap_parser_release(void) {
        if (parser)
                xmlFreeParserCtxt(parser);
        parser = NULL;
        if (time_parser)
                xmlFreeParserCtxt(time_parser);
        time_parser = NULL;
}

int soap_parse_response(const char *buf, size_t len, xmlDoc **ret_doc, xmlNode **ret_body,
                        char err[static SOAP_ERROR_MAX]) {
        ParseState ps = {};
        xmlNode *root, *body, *fault;
        xmlDoc *doc;

        if (len == 0) {
                (void) snprintf(err, SOAP_ERROR_MAX, "empty response");
                return -EBADMSG;
        }
        if (len > INT32_MAX)
                return -EFBIG;
        if (!parser) {
                parser = xmlNewParserCtxt();
                if (!parser)
                        return -ENOMEM;
        }
        parser->_private = &ps;
        parser->sax->internalSubset = on_internal_subset;
        doc = xmlCtxtReadMemory(parser, buf, (int) len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                        XML_PARSE_NOCDATA);
        parser->_private = NULL;
        if (ps.dtd || !doc || !parser->wellFormed) {
                const xmlError *e = xmlCtxtGetLastError(parser);

                if (ps.dtd)
                        (void) snprintf(err, SOAP_ERROR_MAX,
                                        "invalid XML: a DTD, which SOAP forbids");
                else if (e && e->message)
                        (void) snprintf(err, SOAP_ERROR_MAX, "invalid XML at line %d: %.*s",
                                        e->line, (int) strcspn(e->message, "\n"), e->message);
                else
                        (void) snprintf(err, SOAP_ERROR_MAX, "invalid XML");
                xmlFreeDoc(doc);
                /* A stopped parser is not trusted again. */
                soap_parser_release();
                return -EBADMSG;
        }

        root = xmlDocGetRootElement(doc);
        if (!root || !root->ns || !xmlStrEqual(root->ns->href, BAD_CAST NS_SOAP_ENV) ||
            !xmlStrEqual(root->name, BAD_CAST "Envelope")) {
                (void) snprintf(err, SOAP_ERROR_MAX, "not a SOAP 1.2 envelope");
                xmlFreeDoc(doc);
                return -EBADMSG;
        }
        body = xml_child(root, NS_SOAP_ENV, "Body");
        if (!body) {
                (void) snprintf(err, SOAP_ERROR_MAX, "SOAP envelope without a Body");
                xmlFreeDoc(doc);
                return -EBADMSG;
        }
        fault = xml_child(body, NS_SOAP_ENV, "Fault");
        if (fault) {
                soap_fault_text(fault, err);
                xmlFreeDoc(doc);
                return -EPROTO;
        }
        *ret_doc = doc;
        *ret_body = body;
        return 0;
}

/* ======================================================================== */
/* GetSystemDateAndTime without a tree: SAX2 over a reused push parser. */

enum { TF_HOUR, TF_MINUTE, TF_SECOND, TF_YEAR, TF_MONTH, TF_DAY, _TF_MAX };

typedef struct TimeSax {
        xmlParserCtxtPtr ctxt;
        int depth;
        bool envelope, body, fault, dtd, resp, utc_done;
        int body_depth, resp_depth, utc_depth, part_depth; /* 0: not inside */
        bool in_date;                /* inside Date (else Time) of UTCDateTime */
        int field;                   /* TF_*, or -1 */
        char text[16];
        size_t text_len;
        bool text_bad;
        int v[_TF_MAX];
        unsigned have;
} TimeSax;

static bool ns_is(const xmlChar *uri, const char *ns) {
        return uri && xmlStrEqual(uri, BAD_CAST ns);
}

static void time_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
                       int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                       int nb_defaulted, const xmlChar **attributes) {
        static const char *const time_names[] = { "Hour", "Minute", "Second" };
        static const char *const date_names[] = { "Year", "Month", "Day" };
        TimeSax *t = ctx;
        int d = ++t->depth;

        (void) prefix;
        (void) nb_namespaces;
        (void) namespaces;
        (void) nb_attributes;
        (void) nb_defaulted;
        (void) attributes;
        if (d == 1) {
                t->envelope = ns_is(uri, NS_SOAP_ENV) && xmlStrEqual(name, BAD_CAST "Envelope");
                return;
        }
        if (d == 2 && t->envelope && !t->body && ns_is(uri, NS_SOAP_ENV) &&
            xmlStrEqual(name, BAD_CAST "Body")) {
                t->body = true;
                t->body_depth = d;
                return;
        }
        if (t->body_depth && d == t->body_depth + 1) {
                if (ns_is(uri, NS_SOAP_ENV) && xmlStrEqual(name, BAD_CAST "Fault"))
                        t->fault = true;
                else if (!t->resp && ns_is(uri, NS_ONVIF_DEVICE) &&
                         xmlStrEqual(name, BAD_CAST "GetSystemDateAndTimeResponse")) {
                        t->resp = true;
                        t->resp_depth = d;
                }
                return;
        }
        if (t->resp_depth && !t->utc_depth && !t->utc_done && ns_is(uri, NS_ONVIF_SCHEMA) &&
            xmlStrEqual(name, BAD_CAST "UTCDateTime")) {
                t->utc_depth = d;
                return;
        }
        if (t->utc_depth && d == t->utc_depth + 1 && ns_is(uri, NS_ONVIF_SCHEMA)) {
                t->in_date = xmlStrEqual(name, BAD_CAST "Date");
                if (t->in_date || xmlStrEqual(name, BAD_CAST "Time"))
                        t->part_depth = d;
                return;
        }
        if (t->part_depth && d == t->part_depth + 1 && ns_is(uri, NS_ONVIF_SCHEMA)) {
                const char *const *names = t->in_date ? date_names : time_names;

                for (int i = 0; i < 3; i++)
                        if (xmlStrEqual(name, BAD_CAST names[i])) {
                                t->field = (t->in_date ? TF_YEAR : TF_HOUR) + i;
                                t->text_len = 0;
                                t->text_bad = false;
                        }
        }
}

static void time_chars(void *ctx, const xmlChar *ch, int len) {
        TimeSax *t = ctx;

        if (t->field < 0 || len < 0)
                return;
        if (t->text_len + (size_t) len >= sizeof(t->text)) {
                t->text_bad = true;
                return;
        }
        memcpy(t->text + t->text_len, ch, (size_t) len);
        t->text_len += (size_t) len;
}

static void time_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri) {
        static const int lo[_TF_MAX] = { 0, 0, 0, 1970, 1, 1 }, hi[_TF_MAX] = { 23, 59, 60, 9999, 12, 31 };
        TimeSax *t = ctx;
        int d = t->depth--;

        (void) name;
        (void) prefix;
        (void) uri;
        if (t->field >= 0 && t->part_depth && d == t->part_depth + 1) {
                char *s = t->text, *end;
                long v;

                t->text[t->text_len] = 0;
                while (isspace((unsigned char) *s))
                        s++;
                errno = 0;
                v = strtol(s, &end, 10);
                while (isspace((unsigned char) *end))
                        end++;
                if (!t->text_bad && end != s && !*end && !errno && v >= lo[t->field] &&
                    v <= hi[t->field]) {
                        t->v[t->field] = (int) v;
                        t->have |= 1u << t->field;
                }
                t->field = -1;
        } else if (d == t->part_depth)
                t->part_depth = 0;
        else if (d == t->utc_depth) {
                t->utc_depth = 0;
                t->utc_done = true; /* the first UTCDateTime counts, as on the DOM path */
        } else if (d == t->resp_depth)
                t->resp_depth = 0;
        else if (d == t->body_depth)
                t->body_depth = 0;
}

static void time_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
                     const xmlChar *system_id) {
        TimeSax *t = ctx;

        (void) name;
        (void) external_id;
        (void) system_id;
        t->dtd = true;
        xmlStopParser(t->ctxt);
}

int soap_parse_time_fast(const char *buf, size_t len, time_t *ret) {
        static xmlSAXHandler sax = {
                .initialized = XML_SAX2_MAGIC,
                .startElementNs = time_start,
                .endElementNs = time_end,
                .characters = time_chars,
                .internalSubset = time_dtd,
        };
        TimeSax t = { .field = -1 };
        int r;

        if (len == 0 || len > INT32_MAX)
                return -EAGAIN;
        if (!time_parser) {
                time_parser = xmlCreatePushParserCtxt(&sax, NULL, NULL, 0, NULL);
                if (!time_parser)
                        return -EAGAIN;
                (void) xmlCtxtUseOptions(time_parser, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                              XML_PARSE_NOWARNING);
        } else if (xmlCtxtResetPush(time_parser, NULL, 0, NULL, NULL) != 0)
                return -EAGAIN;
        t.ctxt = time_parser;
        time_parser->userData = &t;
        r = xmlParseChunk(time_parser, buf, (int) len, 1);
        time_parser->userData = NULL;
        if (r != 0 || !time_parser->wellFormed || t.dtd || t.fault || !t.envelope || !t.resp ||
            t.have != (1u << _TF_MAX) - 1 || !ymd_valid(t.v[TF_YEAR], t.v[TF_MONTH], t.v[TF_DAY])) {
                if (t.dtd || r != 0) {
                        /* A stopped or failed parser is not trusted again. */
                        xmlFreeParserCtxt(time_parser);
                        time_parser = NULL;
                }
                return -EAGAIN;
        }
        *ret = (time_t) day_from_ymd(t.v[TF_YEAR], t.v[TF_MONTH], t.v[TF_DAY]) * 86400 +
               t.v[TF_HOUR] * 3600 + t.v[TF_MINUTE] * 60 + t.v[TF_SECOND];
        return 0;
}

/* ======================================================================== */

static bool node_is(const xmlNode *n, const char *ns, const char *name) {
        return n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, BAD_CAST ns) &&
               xmlStrEqual(n->name, BAD_CAST name);
}

xmlNode *xml_child(const xmlNode *node, const char *ns, const char *name) {
        if (!node)
                return NULL;
        for (xmlNode *c = node->children; c; c = c->next)
                if (node_is(c, ns, name))
                        return c;
        return NULL;
}

static xmlNode *descendant(const xmlNode *node, const char *ns, const char *name, int depth) {
        if (depth > XML_DEPTH_MAX)
                return NULL;
        for (xmlNode *c = node->children; c; c = c->next) {
                xmlNode *found;

                if (c->type != XML_ELEMENT_NODE)
                        continue;
                if (node_is(c, ns, name))
                        return c;
                found = descendant(c, ns, name, depth + 1);
                if (found)
                        return found;
        }
        return NULL;
}

xmlNode *xml_descendant(const xmlNode *node, const char *ns, const char *name) {
        return node ? descendant(node, ns, name, 0) : NULL;
}

bool xml_text(const xmlNode *node, char *buf, size_t size) {
        xmlChar *content;
        const char *s;
        size_t n;

        if (!node || size == 0)
                return false;
        content = xmlNodeGetContent(node);
        if (!content)
                return false;
        s = (const char *) content;
        while (isspace((unsigned char) *s))
                s++;
        n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                n--;
        /* The device's text, clean: cut on a character boundary, no controls. */
        n = text_clean(buf, size, s, n);
        xmlFree(content);
        return n > 0;
}

int xml_parse_datetime(const char *s, time_t *ret) {
        char buf[64];
        const char *t;
        size_t n = strlen(s);

        if (n == 0 || n >= sizeof(buf) - 1)
                return -EINVAL;
        /* xs:dateTime without a zone is taken as UTC, as ONVIF devices mean it. */
        t = strchr(s, 'T');
        if (t && !strpbrk(t, "Zz+-")) {
                (void) snprintf(buf, sizeof(buf), "%sZ", s);
                s = buf;
        }
        return parse_iso_datetime(s, ret);
}
