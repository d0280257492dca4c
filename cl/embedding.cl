/* Embedding lookup and its deterministic scatter-add backward.
 *
 * Backward, dE[ids[i]] += dy[i], without float atomics: each work-group owns a block of 64
 * vocabulary rows x 64 columns of dE (held in local memory, starting from dE's values) and
 * scans all ids in order, 256 at a time. A scan of "is this id in my block" compacts the hits
 * of each batch in order; the group's four lanes then take the rows r with r % 4 == lane, so
 * every dE element is owned by one work-item that adds its dy rows in increasing i: the same
 * order as the CPU reference, hence bitwise equal results run after run.
 * Cost: ceil(vocab / 64) x ceil(dim / 64) groups, each reading the n ids once. */

DMX_KERNEL void embedding_fwd(__global const int *ids, ulong ids_off, __global const float *E,
                              ulong e_off, __global float *y, ulong y_off, int n, int dim,
                              int vocab)
{
    const long i = get_global_id(0);
    if (i >= (long)n * dim)
        return;
    long d;
    const int id = ids[ids_off + dmx_split_long(i, dim, &d)];
    y[y_off + i] = id >= 0 && id < vocab ? E[e_off + (long)id * dim + d] : 0.0f;
}

#define DMX_EMB_ROWS 64
#define DMX_EMB_COLS 64
#define DMX_EMB_LANES (DMX_WG / DMX_EMB_COLS)

DMX_KERNEL void embedding_bwd(__global const int *ids, ulong ids_off, __global const float *dy,
                              ulong dy_off, __global float *dE, ulong de_off, int n, int dim,
                              int vocab)
{
    __local float acc[DMX_EMB_ROWS][DMX_EMB_COLS];
    __local int scan[DMX_WG];
    __local int hit_pos[DMX_WG];
    __local int hit_row[DMX_WG];
    ids += ids_off;
    dy += dy_off;
    dE += de_off;
    const int lid = get_local_id(0);
    const int col_blocks = (dim + DMX_EMB_COLS - 1) / DMX_EMB_COLS;
    int block, col;
    const int v0 = dmx_split(get_group_id(0), col_blocks, &block) * DMX_EMB_ROWS;
    const int d0 = block * DMX_EMB_COLS;
    const int lane = dmx_split(lid, DMX_EMB_COLS, &col);
    const int d = d0 + col;

    for (int row = lane; row < DMX_EMB_ROWS; row += DMX_EMB_LANES)
        acc[row][col] = v0 + row < vocab && d < dim ? dE[(long)(v0 + row) * dim + d] : 0.0f;

    for (int i0 = 0; i0 < n; i0 += DMX_WG) {
        const int i = i0 + lid;
        const int id = i < n ? ids[i] : -1;
        const int hit = id >= v0 && id < v0 + DMX_EMB_ROWS && id < vocab;
        /* Inclusive prefix sum of the hits (Hillis-Steele): each hit's place in the list. */
        scan[lid] = hit;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int step = 1; step < DMX_WG; step <<= 1) {
            const int before = lid >= step ? scan[lid - step] : 0;
            barrier(CLK_LOCAL_MEM_FENCE);
            scan[lid] += before;
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        if (hit) {
            hit_pos[scan[lid] - 1] = i;
            hit_row[scan[lid] - 1] = id - v0;
        }
        const int hits = scan[DMX_WG - 1];
        barrier(CLK_LOCAL_MEM_FENCE);
        if (d < dim)
            for (int h = 0; h < hits; h++) {
                const int row = hit_row[h];
                if (row % DMX_EMB_LANES == lane)
                    acc[row][col] += dy[(long)hit_pos[h] * dim + d];
            }
        barrier(CLK_LOCAL_MEM_FENCE); /* the lists are rewritten by the next batch */
    }

    for (int row = lane; row < DMX_EMB_ROWS; row += DMX_EMB_LANES)
        if (v0 + row < vocab && d < dim)
            dE[(long)(v0 + row) * dim + d] = acc[row][col];
}
