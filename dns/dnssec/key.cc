// key.cc -- DNSSEC key pairs through Knot's libdnssec: its PKCS #8 key store writes and reads the
// PEM files, and its sign/verify contexts make the signatures in DNSSEC wire form.
#include "dns/dnssec/key.hh"

#include <sys/stat.h>

extern "C" {  // libdnssec's headers leave C linkage to their users
#include <libdnssec/binary.h>
#include <libdnssec/crypto.h>
#include <libdnssec/error.h>
#include <libdnssec/key.h>
#include <libdnssec/keystore.h>
#include <libdnssec/sign.h>
}

#include <atomic>
#include <mutex>

#include "dns/base/thread_role.hh"
#include "dns/dnssec/signer.hh"

namespace rrdns::dnssec {

namespace {

// libdnssec (GnuTLS underneath) is set up once per process, before the first key is touched.
void cryptoInit() {
  static std::once_flag once;
  std::call_once(once, [] { dnssec_crypto_init(); });
}

std::string libError(std::string_view what, int code) {
  return std::string(what) + ": " + dnssec_strerror(code);
}

std::string binaryString(const dnssec_binary_t& b) {
  return std::string(reinterpret_cast<const char*>(b.data), b.size);
}

dnssec_binary_t binaryView(std::string_view s) {
  // libdnssec takes non-const pointers but only reads what is signed or verified.
  return dnssec_binary_t{s.size(), reinterpret_cast<uint8_t*>(const_cast<char*>(s.data()))};
}

// A key store over `directory`, closed when it goes out of scope.
class Keystore {
 public:
  ~Keystore() {
    if (d_store) dnssec_keystore_deinit(d_store);
  }
  Result<void> open(const std::string& directory) {
    int rc = dnssec_keystore_init_pkcs8(&d_store);
    if (rc != DNSSEC_EOK) return error(libError("key store", rc));
    rc = dnssec_keystore_open(d_store, directory.c_str());
    if (rc != DNSSEC_EOK) return error(libError("key store " + directory, rc));
    return success();
  }
  dnssec_keystore_t* get() const { return d_store; }

 private:
  dnssec_keystore_t* d_store = nullptr;
};

std::atomic<uint64_t> g_query_path_signatures{0};

}  // namespace

uint64_t queryPathSignatures() { return g_query_path_signatures.load(std::memory_order_relaxed); }

std::string_view roleName(KeyRole role) {
  switch (role) {
    case KeyRole::Ksk: return "ksk";
    case KeyRole::Zsk: return "zsk";
    case KeyRole::Csk: return "csk";
  }
  return "?";
}

struct Key::State {
  std::string id;
  zone::DnssecAlgorithm algorithm{};
  KeyRole role{};
  uint16_t tag = 0;
  uint16_t flags = 0;
  std::string dnskey_rdata;
  std::string ds_rdata;
  dnssec_key_t* key = nullptr;  // with its private half: signs and verifies

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() { dnssec_key_free(key); }
};

Result<Key> Key::generate(const std::string& directory, std::string_view apex,
                          zone::DnssecAlgorithm algorithm, KeyRole role) {
  cryptoInit();
  Keystore store;
  if (auto opened = store.open(directory); !opened) return opened.errors();
  auto alg = static_cast<dnssec_key_algorithm_t>(algorithm);
  int bits = dnssec_algorithm_key_size_default(alg);  // 256 for both P-256 and Ed25519
  char* raw_id = nullptr;
  int rc = dnssec_keystore_generate(store.get(), alg, static_cast<unsigned>(bits), nullptr, &raw_id);
  if (rc != DNSSEC_EOK) return error(libError("generating a key in " + directory, rc));
  std::string id(raw_id);
  free(raw_id);  // NOLINT: allocated by libdnssec with malloc
  // The private key is the daemon's alone, whatever umask libdnssec created the file under (the
  // 0700 directory already keeps others out between the two calls).
  std::string path = directory + "/" + id + ".pem";
  if (chmod(path.c_str(), 0600) != 0) return error(path + ": cannot make it private (chmod 0600)");
  return load(directory, id, apex, algorithm, role);
}

// The key `id` of the store, completed: name, flags, tag, RDATA, DS.
Result<Key> Key::load(const std::string& directory, std::string_view id, std::string_view apex,
                      zone::DnssecAlgorithm algorithm, KeyRole role) {
  cryptoInit();
  Keystore store;
  if (auto opened = store.open(directory); !opened) return opened.errors();
  auto st = std::make_shared<State>();
  st->id = std::string(id);
  st->algorithm = algorithm;
  st->role = role;
  st->flags = role == KeyRole::Zsk ? 256 : 257;  // RFC 4034 2.1.1: 257 sets SEP
  std::string where = directory + "/" + st->id + ".pem";
  int rc = dnssec_key_new(&st->key);
  if (rc != DNSSEC_EOK) return error(libError(where, rc));
  rc = dnssec_key_set_algorithm(st->key, static_cast<uint8_t>(algorithm));
  if (rc != DNSSEC_EOK) return error(libError(where, rc));
  rc = dnssec_keystore_get_private(store.get(), st->id.c_str(), st->key);
  if (rc != DNSSEC_EOK) return error(libError(where, rc));
  std::string name(apex);  // c_str(): libdnssec reads the wire name up to its root label
  rc = dnssec_key_set_dname(st->key, reinterpret_cast<const uint8_t*>(name.c_str()));
  if (rc != DNSSEC_EOK) return error(libError(where, rc));
  rc = dnssec_key_set_flags(st->key, st->flags);
  if (rc != DNSSEC_EOK) return error(libError(where, rc));
  if (!dnssec_key_can_sign(st->key)) return error(where + ": not a private key");
  st->tag = dnssec_key_get_keytag(st->key);
  dnssec_binary_t rdata{};
  rc = dnssec_key_get_rdata(st->key, &rdata);  // a view into the key: not freed here
  if (rc != DNSSEC_EOK) return error(libError(where, rc));
  st->dnskey_rdata = binaryString(rdata);
  dnssec_binary_t ds{};
  rc = dnssec_key_create_ds(st->key, DNSSEC_KEY_DIGEST_SHA256, &ds);
  if (rc != DNSSEC_EOK) return error(libError(where, rc));
  st->ds_rdata = binaryString(ds);
  dnssec_binary_free(&ds);
  Key key;
  key.d_state = std::move(st);
  return key;
}

const std::string& Key::id() const { return d_state->id; }
uint16_t Key::tag() const { return d_state->tag; }
zone::DnssecAlgorithm Key::algorithm() const { return d_state->algorithm; }
KeyRole Key::role() const { return d_state->role; }
uint16_t Key::flags() const { return d_state->flags; }
std::string Key::dnskeyRdata() const { return d_state->dnskey_rdata; }
std::string Key::dsRdata() const { return d_state->ds_rdata; }

// One signing context per call: the key itself is only read, so threads may sign with it at once
// (as Knot's signing threads share their keys).
std::string Key::sign(std::string_view data) const {
  if (t_query_thread) g_query_path_signatures.fetch_add(1, std::memory_order_relaxed);
  dnssec_sign_ctx_t* ctx = nullptr;
  if (dnssec_sign_new(&ctx, d_state->key) != DNSSEC_EOK) return {};
  dnssec_binary_t in = binaryView(data);
  dnssec_binary_t sig{};
  std::string out;
  // DNSSEC_SIGN_NORMAL: libdnssec converts ECDSA's DER to RFC 6605's r || s.
  if (dnssec_sign_add(ctx, &in) == DNSSEC_EOK &&
      dnssec_sign_write(ctx, DNSSEC_SIGN_NORMAL, &sig) == DNSSEC_EOK) {
    out = binaryString(sig);
  }
  dnssec_binary_free(&sig);
  dnssec_sign_free(ctx);
  return out;
}

bool Key::verify(std::string_view data, std::string_view signature) const {
  dnssec_sign_ctx_t* ctx = nullptr;
  if (dnssec_sign_new(&ctx, d_state->key) != DNSSEC_EOK) return false;
  dnssec_binary_t in = binaryView(data);
  dnssec_binary_t sig = binaryView(signature);
  bool ok = dnssec_sign_add(ctx, &in) == DNSSEC_EOK &&
            dnssec_sign_verify(ctx, false, &sig) == DNSSEC_EOK;
  dnssec_sign_free(ctx);
  return ok;
}

}  // namespace rrdns::dnssec
