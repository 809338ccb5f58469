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
#endif
