#include <gtest/gtest.h>

#include "tpm2dev/tpm.h"

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

}  // namespace
}  // namespace bootseal::tpm2dev
