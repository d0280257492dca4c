/* Optimizer steps, one parameter per work-item, PyTorch semantics (host/ops/op_params.h). */

/* AdamW: decoupled weight decay, bias corrections folded into step_size and bc2_sqrt. */
DMX_KERNEL void adamw(__global const float *g, ulong g_off, __global float *p, ulong p_off,
                      __global float *m, ulong m_off, __global float *v, ulong v_off, int n,
                      float lr, float beta1, float beta2, float eps, float weight_decay,
                      float step_size, float bc2_sqrt)
{
    const long i = get_global_id(0);
    if (i >= n)
        return;
    const float gi = g[g_off + i];
    const float pi = p[p_off + i] - lr * weight_decay * p[p_off + i];
    const float mi = beta1 * m[m_off + i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[v_off + i] + (1.0f - beta2) * gi * gi;
    m[m_off + i] = mi;
    v[v_off + i] = vi;
    p[p_off + i] = pi - step_size * mi / (sqrt(vi) / bc2_sqrt + eps);
}

/* SGD with momentum (dampening, Nesterov, weight decay); buf untouched when momentum = 0. */
DMX_KERNEL void sgd(__global const float *g, ulong g_off, __global float *p, ulong p_off,
                    __global float *buf, ulong b_off, int n, float lr, float momentum,
                    float dampening, float weight_decay, int nesterov, int first_step)
{
    const long i = get_global_id(0);
    if (i >= n)
        return;
    float d = g[g_off + i] + weight_decay * p[p_off + i];
    if (momentum != 0.0f) {
        const float b = first_step ? d : momentum * buf[b_off + i] + (1.0f - dampening) * d;
        buf[b_off + i] = b;
        d = nesterov ? d + momentum * b : b;
    }
    p[p_off + i] -= lr * d;
}
