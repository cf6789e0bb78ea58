/* fiscalbill: China's fiscal electronic bills (财政电子票据): build, sign, seal
 * and verify. One header per part; this one includes them all. */
#ifndef FISCALBILL_H
#define FISCALBILL_H

#include "common.h"
#include "amount.h"
#include "kind.h"
#include "bill.h"
#include "validate.h"
#include "document.h"
#include "port.h"
#include "sign.h"
#include "trust.h"
#include "issue.h"
#include "seal.h"
#include "verify.h"

#endif
