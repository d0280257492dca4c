/* dimix: dimension-mixer networks on a CPU reference, OpenCL and Vulkan.
 * One include for the whole public API. */
#ifndef DIMIX_H
#define DIMIX_H

#include "dimix/version.h"
#include "dimix/status.h"
#include "dimix/log.h"
#include "dimix/device.h"
#include "dimix/tensor.h"
#include "dimix/ops.h"
#include "dimix/optim.h"
#include "dimix/plot.h"
#include "dimix/safetensors.h"
#include "dimix/data.h"
#include "dimix/nn.h"
#include "dimix/models.h"
#include "dimix/checkpoint.h"
#include "dimix/train.h"
#include "dimix/lra_data.h"
#include "dimix/lra_batches.h"
#include "dimix/infer.h"

#endif
