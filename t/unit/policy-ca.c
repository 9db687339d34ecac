// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy-ca.c: unit test of policy/ca.c: a CA is made and loaded, a CSR
 * signed and checked by openssl(1) as well as by us, the identity read
 * back, bad requests refused, join tokens redeemed once and only in time.
 */
#include "ca.h"
#include "tap.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/lunlink-policy-ca.XXXXXX";

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* Run a shell command in dir; its exit status. */
static int sh(const char *fmt, const char *arg)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cd %s && ", dir);
	snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), fmt, arg);
	return system(cmd);
}

static char *sign(struct pca_ca *ca, const char *name, enum pca_role role, const char *const *hosts,
		  char *err, size_t errlen)
{
	struct pca_sign_opts o = { .role = role, .name = name, .hosts = hosts };
	char *key, *csr, *cert = NULL;

	if (pca_make_key_csr(name, &key, &csr, err, errlen))
		return NULL;
	pca_sign(ca, csr, &o, &cert, err, errlen);
	free(key);
	free(csr);
	return cert;
}

static void test_ca(void)
{
	static const char *const hosts[] = { "127.0.0.1", "manager.example", "::1", NULL };
	static const char *const bad_hosts[] = { "a b", NULL };
	char err[256] = "", cadir[300], *key, *csr, *cert, *other;
	struct pca_sign_opts o = { .role = PCA_ROLE_HOST, .name = "web1" };
	struct pca_identity id;
	struct pca_ca *ca;
	struct stat st;

	snprintf(cadir, sizeof(cadir), "%s/ca", dir);
	ok(pca_init(cadir, err, sizeof(err)) == 0, "a CA is made (%s)", err);
	ok(stat(strcat(strcpy((char[320]){ 0 }, cadir), "/ca.key"), &st) == 0 &&
	   (st.st_mode & 0777) == 0600, "its key is mode 0600");
	ok(pca_init(cadir, err, sizeof(err)) < 0, "a second init refuses to replace it");
	like(err, "already exists", "... saying so");
	ok(sh("openssl x509 -in ca/ca.crt -noout -subject | grep -q 'CN = lunlink cluster CA [0-9a-f]\\{8\\}$'%s", "") == 0,
	   "the CA's CN carries a random id");
	ok(sh("openssl x509 -in ca/ca.crt -noout -ext basicConstraints | grep -q 'CA:TRUE'%s", "") == 0,
	   "the CA is a CA");
	ca = pca_load(cadir, err, sizeof(err));
	ok(ca, "the CA loads (%s)", err);
	if (!ca)
		return;

	cert = sign(ca, "node1", PCA_ROLE_NODE, hosts, err, sizeof(err));
	ok(cert, "a node's CSR is signed (%s)", err);
	write_file("node1.crt", cert ? cert : "");
	ok(sh("openssl verify -CAfile ca/ca.crt -purpose sslserver node1.crt >/dev/null%s", "") == 0,
	   "openssl verifies it for a server");
	ok(sh("openssl verify -CAfile ca/ca.crt -purpose sslclient node1.crt >/dev/null%s", "") == 0,
	   "... and for a client");
	ok(sh("openssl x509 -in node1.crt -noout -ext subjectAltName | "
	      "grep -q 'URI:lunlink:node/node1, IP Address:127.0.0.1, DNS:manager.example, IP Address:0:0:0:0:0:0:0:1'%s", "") == 0,
	   "its subjectAltName has the identity, the addresses and the name");
	ok(cert && pca_identity_pem(cert, &id, err, sizeof(err)) == 0, "its identity is read (%s)", err);
	is_int(id.role, PCA_ROLE_NODE, "... role node");
	is_str(id.name, "node1", "... name node1");
	is_int(strlen(id.serial), 32, "... a 128-bit serial");
	ok(sh("openssl x509 -in node1.crt -noout -serial | tr A-F a-f | grep -qx \"serial=$(echo %s)\"",
	      id.serial) == 0, "... the serial openssl shows");
	free(cert);

	cert = sign(ca, "web1", PCA_ROLE_HOST, NULL, err, sizeof(err));
	write_file("web1.crt", cert ? cert : "");
	ok(sh("openssl verify -CAfile ca/ca.crt -purpose sslclient web1.crt >/dev/null%s", "") == 0,
	   "a host's certificate is good for a client");
	ok(sh("openssl verify -CAfile ca/ca.crt -purpose sslserver web1.crt >/dev/null 2>&1%s", "") != 0,
	   "... and not for a server");
	ok(cert && pca_identity_pem(cert, &id, err, sizeof(err)) == 0 && id.role == PCA_ROLE_HOST,
	   "its role is host");
	free(cert);

	ok(pca_make_key_csr("web1", &key, &csr, err, sizeof(err)) == 0, "a key and CSR for web1");
	o.name = "web2";
	ok(pca_sign(ca, csr, &o, &other, err, sizeof(err)) < 0, "signing it as web2 is refused");
	like(err, "CN is not 'web2'", "... naming the mismatch");
	o.name = "web1";
	o.hosts = bad_hosts;
	ok(pca_sign(ca, csr, &o, &other, err, sizeof(err)) < 0, "a bad host name is refused");
	o.hosts = NULL;
	/* flip a byte of the signature's base64: no longer signed by its key */
	csr[strlen(csr) - 40] = csr[strlen(csr) - 40] == 'A' ? 'B' : 'A';
	ok(pca_sign(ca, csr, &o, &other, err, sizeof(err)) < 0, "a tampered CSR is refused (%s)", err);
	ok(pca_sign(ca, "not a csr", &o, &other, err, sizeof(err)) < 0, "garbage is refused");
	like(err, "not a PEM CSR", "... saying so");
	ok(pca_make_key_csr("bad/name", &key, &csr, err, sizeof(err)) < 0, "a bad name gets no CSR");

	/* another CA's certificates are not ours */
	snprintf(cadir, sizeof(cadir), "%s/ca2", dir);
	ok(pca_init(cadir, err, sizeof(err)) == 0, "a second CA is made");
	ok(sh("openssl verify -CAfile ca2/ca.crt node1.crt >/dev/null 2>&1%s", "") != 0,
	   "node1's certificate does not verify against it");
	chmod(strcat(cadir, "/ca.key"), 0644);
	cadir[strlen(cadir) - 7] = '\0';
	ok(!pca_load(cadir, err, sizeof(err)), "a CA whose key others can read is refused");
	like(err, "chmod 600", "... saying what to do");
	pca_free(ca);
}

static void test_tokens(void)
{
	char token[PCA_TOKEN_LEN + 1], other[PCA_TOKEN_LEN + 1], id[PCA_TOKEN_ID_LEN + 1];
	char err[256], *rec, *rec2, *used = NULL, *used2 = NULL;
	enum pca_role role = PCA_ROLE_ADMIN;
	time_t now = 1700000000;

	ok(pca_token_create(PCA_ROLE_NODE, now, 600, token, &rec, err, sizeof(err)) == 0,
	   "a token is made");
	ok(pca_token_id(token, id) == 0 && strstr(rec, id), "its record is found by its id");
	ok(!strstr(rec, token + PCA_TOKEN_ID_LEN + 1), "the record does not hold the secret");
	ok(pca_token_redeem(rec, token, now + 10, &role, &used, err, sizeof(err)) == 0,
	   "it is redeemed in time (%s)", err);
	is_int(role, PCA_ROLE_NODE, "... granting its role");
	like(used, "\"used\":true", "... giving the record marked used");
	ok(pca_token_redeem(used, token, now + 11, &role, &used2, err, sizeof(err)) < 0,
	   "the used record refuses it a second time");
	like(err, "used already", "... saying so");
	ok(pca_token_redeem(rec, token, now + 600, &role, &used2, err, sizeof(err)) < 0,
	   "it is refused once expired");
	like(err, "expired", "... saying so");
	memcpy(other, token, sizeof(other));
	other[PCA_TOKEN_LEN - 1] = other[PCA_TOKEN_LEN - 1] == '0' ? '1' : '0';
	ok(pca_token_redeem(rec, other, now, &role, &used2, err, sizeof(err)) < 0,
	   "a wrong secret is refused");
	like(err, "not valid", "... as not valid");
	ok(pca_token_create(PCA_ROLE_HOST, now, 60, other, &rec2, err, sizeof(err)) == 0,
	   "a second token is made");
	ok(pca_token_redeem(rec2, token, now, &role, &used2, err, sizeof(err)) < 0,
	   "one token does not redeem another's record");
	ok(pca_token_redeem("{\"id\":1}", token, now, &role, &used2, err, sizeof(err)) < 0,
	   "a damaged record is refused");
	ok(pca_token_id("abc", id) < 0, "a malformed token has no id");
	ok(pca_token_create(PCA_ROLE_HOST, now, PCA_TOKEN_TTL_MAX + 1, other, &rec2, err,
			    sizeof(err)) < 0, "a lifetime over a week is refused");
	free(rec);
	free(rec2);
	free(used);
}

static void test_serials(void)
{
	char s[PCA_SERIAL_MAX];

	ok(pca_serial_canon("00:0A:bC", s) == 0 && !strcmp(s, "abc"), "a serial is canonical");
	ok(pca_serial_canon("000", s) == 0 && !strcmp(s, "0"), "zero is 0");
	ok(pca_serial_canon("xyz", s) < 0, "not hex is refused");
	ok(pca_serial_canon("", s) < 0, "empty is refused");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_ca();
	test_tokens();
	test_serials();
	sh("cd / && rm -rf %s", dir);
	return done_testing();
}
