#ifndef KCHECK_COPENSSL_SHIM_H
#define KCHECK_COPENSSL_SHIM_H
#include <openssl/opensslv.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* OPENSSL_free is a macro over CRYPTO_free that records file and line. */
static inline void kcheck_openssl_free(void *p) { OPENSSL_free(p); }
/* BIO_get_mem_data is a macro over BIO_ctrl. */
static inline long kcheck_bio_get_mem_data(BIO *bio, char **out) { return BIO_get_mem_data(bio, out); }

/* sk_GENERAL_NAME_* are macros over OPENSSL_sk_*; GENERAL_NAME's payload is a union. */
static inline GENERAL_NAMES *kcheck_x509_subject_alt_names(const X509 *x) {
    return (GENERAL_NAMES *)X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
}
static inline int kcheck_general_names_count(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
static inline void kcheck_general_names_free(GENERAL_NAMES *names) { GENERAL_NAMES_free(names); }
/* The type (GEN_DNS, GEN_IPADD, ...) of entry i and, for DNS, IP, URI and e-mail, its bytes. */
static inline int kcheck_general_name_at(const GENERAL_NAMES *names, int i, const unsigned char **data, int *length) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
    const ASN1_STRING *s = NULL;
    *data = NULL;
    *length = 0;
    if (g == NULL) return -1;
    switch (g->type) {
    case GEN_DNS: s = g->d.dNSName; break;
    case GEN_IPADD: s = g->d.iPAddress; break;
    case GEN_URI: s = g->d.uniformResourceIdentifier; break;
    case GEN_EMAIL: s = g->d.rfc822Name; break;
    default: break;
    }
    if (s != NULL) {
        *data = ASN1_STRING_get0_data(s);
        *length = ASN1_STRING_length(s);
    }
    return g->type;
}
/* Never prompts: an encrypted key is refused instead of asking for its passphrase on a terminal. */
static int kcheck_no_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}
static inline EVP_PKEY *kcheck_read_private_key(BIO *bio) {
    return PEM_read_bio_PrivateKey(bio, NULL, kcheck_no_passphrase, NULL);
}
#endif
