#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "efivar/esl.h"
#include "keys/keyset.h"
#include "sys/file.h"

namespace bootseal::keys {
namespace {

TEST(Keys, GenerateSetSignsTheChain) {
  GenerateOptions o;
  o.name = "unit";
  o.key_type = crypto::KeyType::kEcP256;
  o.time = 1735689600;  // 2025-01-01 00:00:00 UTC
  o.owner = *efivar::Guid::parse("6e1c1b2a-9d3f-4c55-8a7e-0123456789ab");
  KeySet set = *generate_key_set(o);
  ASSERT_EQ(set.pairs.size(), 3u);
  EXPECT_EQ(set.get("KEK").cert.subject(), "CN=unit KEK");
  EXPECT_TRUE(set.get("db").cert.has_code_signing_usage());
  EXPECT_FALSE(set.get("PK").cert.has_code_signing_usage());
  EXPECT_EQ(set.timestamp.to_string(), "2025-01-01 00:00:00");
  auto files = *key_set_files(set);
  ASSERT_EQ(files.size(), 16u);
  auto find = [&](std::string name) -> const OutputFile& {
    for (auto& f : files)
      if (f.name == name) return f;
    ADD_FAILURE() << name;
    return files[0];
  };
  EXPECT_EQ(find("db.key").mode, 0600u);
  // db.auth: signed by KEK, carries db.esl, which names the owner.
  auto auth = *efivar::parse_auth2(find("db.auth").data);
  EXPECT_EQ(auth.Data, find("db.esl").data);
  auto lists = *efivar::parse_signature_lists(auth.Data);
  EXPECT_EQ(lists.at(0).Signatures.at(0).SignatureOwner, *o.owner);
  EXPECT_TRUE(efivar::verify_auth2("db", efivar::kEfiImageSecurityDatabase, efivar::kSecureBootVariableAttributes,
                                   auth, {set.get("KEK").cert})
                  .ok());
  EXPECT_FALSE(efivar::verify_auth2("db", efivar::kEfiImageSecurityDatabase, efivar::kSecureBootVariableAttributes,
                                    auth, {set.get("PK").cert})
                   .ok());
  auto pk = *efivar::parse_auth2(find("PK.auth").data);
  EXPECT_TRUE(
      efivar::verify_auth2("PK", efivar::kEfiGlobalVariable, efivar::kSecureBootVariableAttributes, pk, {set.get("PK").cert})
          .ok());
}

TEST(Keys, WriteFilesRefusesToOverwrite) {
  std::string dir = std::filesystem::temp_directory_path() / ("bootseal-keys-test-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::vector<OutputFile> files = {{"a.key", Bytes{1, 2, 3}, 0600}, {"a.crt", Bytes{4}, 0644}};
  ASSERT_TRUE(write_files(dir, files, false).ok());
  struct stat st;
  ASSERT_EQ(::stat((dir + "/a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  files[0].data = {9};
  auto again = write_files(dir, files, false);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message().find("--force"), std::string::npos);
  EXPECT_EQ(*sys::read_file(dir + "/a.key"), (Bytes{1, 2, 3}));
  ASSERT_TRUE(write_files(dir, files, true).ok());
  EXPECT_EQ(*sys::read_file(dir + "/a.key"), (Bytes{9}));
  std::filesystem::remove_all(dir);
}

TEST(Keys, KeySources) {
  // A PKCS#11 URI goes to the token (tests/interop/sign_pkcs11.test.sh signs with one);
  // a token that does not exist is an error naming the URI, never a crash.
  auto p11 = load_signer("pkcs11:token=bootseal-no-such-token;object=db");
  ASSERT_FALSE(p11.ok());
  EXPECT_NE(p11.error().message().find("bootseal-no-such-token"), std::string::npos) << p11.error().message();
  EXPECT_FALSE(load_signer("/nonexistent/db.key").ok());
  EXPECT_FALSE(load_certificate("/nonexistent/db.crt").ok());
}

}  // namespace
}  // namespace bootseal::keys
