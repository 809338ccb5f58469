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
#include <openssl/rsa.h>
#include <openssl/rand.h>
#include <openssl/ec.h>
#include <openssl/bn.h>

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
/* The DER SubjectPublicKeyInfo of an unencrypted RSA private key (PKCS#1, or PKCS#8 when pkcs8
 * is set) through OpenSSL's legacy RSA code. OpenSSL 3.0 reads a key through its provider
 * decoders and writes a public key through its encoders, building a context for each, which
 * costs more than the rest of reading a node's certificates. Returns the length of *out
 * (OPENSSL_malloc'd; the caller frees it), or 0 when the key is not RSA or not read this way: the
 * caller then takes the general path. The private key is freed (and cleansed) before returning. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static inline int kcheck_rsa_public_der(const unsigned char *der, long length, int pkcs8, unsigned char **out) {
    const unsigned char *cursor = der;
    RSA *rsa = NULL;
    *out = NULL;
    if (pkcs8) {
        PKCS8_PRIV_KEY_INFO *info = d2i_PKCS8_PRIV_KEY_INFO(NULL, &cursor, length);
        if (info == NULL) { ERR_clear_error(); return 0; }
        const ASN1_OBJECT *algorithm = NULL;
        const unsigned char *key = NULL;
        int keyLength = 0;
        if (PKCS8_pkey_get0(&algorithm, &key, &keyLength, NULL, info) == 1 && OBJ_obj2nid(algorithm) == NID_rsaEncryption) {
            rsa = d2i_RSAPrivateKey(NULL, &key, keyLength);
        }
        PKCS8_PRIV_KEY_INFO_free(info);
    } else {
        rsa = d2i_RSAPrivateKey(NULL, &cursor, length);
    }
    if (rsa == NULL) { ERR_clear_error(); return 0; }
    int written = i2d_RSA_PUBKEY(rsa, out);
    RSA_free(rsa);
    if (written <= 0) { ERR_clear_error(); return 0; }
    return written;
}
#pragma clang diagnostic pop
/* PEM_read_bio's name, header and data, freed; the data (key material) cleansed first. */
static inline void kcheck_pem_free(char *name, char *header, unsigned char *data, long length) {
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_clear_free(data, (size_t)length);
}
#endif
