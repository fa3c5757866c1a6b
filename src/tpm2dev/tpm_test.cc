#include <gtest/gtest.h>

#include "tpm2dev/tpm.h"

#include "base/hex.h"
#include "tpm2dev/boot_unlock.h"

namespace bootseal::tpm2dev {
namespace {

TEST(Tcti, Selection) {
  EXPECT_EQ(*tcti_config("auto"), "device:/dev/tpmrm0");
  EXPECT_EQ(*tcti_config(""), "device:/dev/tpmrm0");
  EXPECT_EQ(*tcti_config("device:/dev/tpm0"), "device:/dev/tpm0");
  EXPECT_EQ(*tcti_config("/dev/tpmrm1"), "device:/dev/tpmrm1");
  EXPECT_EQ(*tcti_config("swtpm:host=127.0.0.1,port=2321"), "swtpm:host=127.0.0.1,port=2321");
  EXPECT_EQ(*tcti_config("mssim:host=localhost,port=2321"), "mssim:host=localhost,port=2321");
  EXPECT_FALSE(tcti_config("tabrmd").ok());
  EXPECT_FALSE(tcti_config("bogus").ok());
}

TEST(Tcti, NoTpmIsAnError) {
  // Port 1 on localhost: nothing listens; a clear error, no crash, no hang.
  auto t = Tpm::open("swtpm:host=127.0.0.1,port=1");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message().find("no TPM at swtpm:host=127.0.0.1,port=1"), std::string::npos) << t.error().message();
}

// systemd-cryptsetup's PCR 15 measurement (tpm2-measure-pcr=yes): HMAC keyed with the
// volume key over "cryptsetup:<name, ':' escaped>:<uuid>". Golden: Python's hmac.
TEST(BootUnlock, VolumeKeyMeasurement) {
  Bytes vk(64);
  for (size_t i = 0; i < vk.size(); i++) vk[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(to_hex(volume_key_measurement(crypto::HashAlg::kSha256, vk, "root", "5a1ed000-1111-4222-8333-444455556666")),
            "57bc8ff1132eec80c935bf5f6088a38ad37b6e2c1ea2c9ef63c2f30effaa6ea9");
  EXPECT_EQ(to_hex(volume_key_measurement(crypto::HashAlg::kSha256, vk, "a:b", "u")),
            "bdab502ca0745b43119e99fa72c46fba7f524a8faa881f0976c7cc9d7816b242");
}

}  // namespace
}  // namespace bootseal::tpm2dev
