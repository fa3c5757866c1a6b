/* Test helper: check-only unlock of a LUKS2 image through an installed token plugin
 * (systemd's libcryptsetup-token-systemd-tpm2.so), with an explicit TCTI, as
 * systemd-cryptsetup would call it: crypt_activate_by_token_pin() with no device-mapper
 * name. The params struct is systemd's systemd_tpm2_plugin_params (254: the first three
 * members; 255 adds pcrlock_path). Provenance: shared notes tpm2-luks/tokopen.c. */
#include <libcryptsetup.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint32_t search_pcr_mask;
  const char *device;
  const char *signature_path;
  const char *pcrlock_path;
} params_t;

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s IMG TOKEN-ID TCTI [SIGNATURE-JSON] [PIN]\n", argv[0]);
    return 2;
  }
  struct crypt_device *cd;
  int r;
  if ((r = crypt_init(&cd, argv[1])) < 0 || (r = crypt_load(cd, CRYPT_LUKS2, NULL)) < 0) {
    fprintf(stderr, "load: %d\n", r);
    return 1;
  }
  params_t p = {UINT32_MAX, argv[3], argc > 4 && *argv[4] ? argv[4] : NULL, NULL};
  const char *pin = argc > 5 && *argv[5] ? argv[5] : NULL;
  r = crypt_activate_by_token_pin(cd, NULL, "systemd-tpm2", atoi(argv[2]), pin, pin ? strlen(pin) : 0, &p, 0);
  printf("token %s -> %d (%s)\n", argv[2], r, r >= 0 ? "unlocked keyslot" : strerror(-r));
  crypt_free(cd);
  return r >= 0 ? 0 : 1;
}
