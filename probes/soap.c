/* SPDX-License-Identifier: MIT */

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
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

void soap_parser_release(void) {
        if (parser)
                xmlFreeParserCtxt(parser);
        parser = NULL;
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
