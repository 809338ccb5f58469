#!/usr/bin/env python3
"""Writes N certificates signed by one CA into DIR (for benchmarks/certs.sh; not committed).

The CA is RSA 2048 with the guide's subject; every leaf has its own subject, serial, SANs and
validity, and shares one RSA 2048 key (key generation is not what is measured). Needs
python3-cryptography (apt-get install python3-cryptography).
  benchmarks/make-certs.py N DIR
"""
import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def name(cn):
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "BeiJing"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "BeiJing"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "k8s"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "opsnull"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def main():
    count, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = name("kubernetes-ca")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=36500))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    with open(os.path.join(out, "ca.pem"), "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for i in range(count - 1):
        cert = (x509.CertificateBuilder().subject_name(name(f"node-{i:05d}")).issuer_name(ca_name)
                .public_key(leaf_key.public_key()).serial_number(1000 + i)
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365 + i % 3000))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .add_extension(x509.SubjectAlternativeName([
                    x509.DNSName(f"node-{i:05d}.cluster.local"),
                    x509.IPAddress(ipaddress.ip_address(f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"))]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        with open(os.path.join(out, f"node-{i:05d}.pem"), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
    print(f"wrote {count} certificates to {out}")


if __name__ == "__main__":
    main()
