"""Geometry kernels of the Numba twin: range rays, clearance and collision, as PyBullet computes them.

Pure ``@njit`` functions over plain arrays and scalars, meant to be called from inside a compiled
loop over many drones (``prange``); the per-ray and per-obstacle functions allocate nothing.
Lengths are metres, angles radians, the world frame is z-up.

Obstacles are the arrays of one :class:`spikefly.worlds.ObstacleArrays` layout, possibly padded
for batching (only the first ``count`` entries are read):

| argument | dtype, shape | meaning |
|---|---|---|
| ``shape`` | int32[M] | ``SHAPE_BOX`` 0, ``SHAPE_CYLINDER`` 1, ``SHAPE_SPHERE`` 2 |
| ``position`` | float64[M, 3] | centres, m |
| ``half_extents`` | float64[M, 3] | box half sizes; cylinder (r, r, h/2), axis z; sphere (r, r, r); m |
| ``yaw`` | float64[M] | rotation of boxes about +z, rad |
| ``count`` | int | obstacles in use, ``count <= M`` |

The ground is the plane ``z = floor_z`` (the world's ``bounds_min`` z); the drone is a sphere.

What PyBullet computes (pybullet 3.2.7, read from its Bullet source and measured by
``tests/envs/test_twin_geometry.py``), and so what these kernels compute:

* Shapes made by ``createCollisionShapeArray`` get a collision margin of 1 mm
  (``COLLISION_MARGIN_M``). A box or cylinder is its "core", shrunk by the margin, swept by a
  1 mm sphere: faces are exact, edges and rims are rounded with a 1 mm radius (a corner lies
  0.73 mm inside the sharp one, an edge 0.41 mm). A sphere is exact (its core is its centre and
  its margin its radius).
* ``rayTestBatch`` hits a convex shape by conservative advancement (``btGjkConvexCast``): from
  the ray start, step along the ray by (distance to the shape) / (approach speed along the
  ray) until within ``RAY_HIT_TOLERANCE_M`` (1 mm) of the surface, and report a hit there if the
  ray is still approaching the surface (at most 32 steps, otherwise no hit). So flat faces are
  hit exactly; spheres and cylinder sides are hit up to ~1 mm short; a ray passing within 1 mm
  of a surface can be reported as a hit; a ray that starts within 1 mm of a surface and heads
  towards it reads 0. A shape is only tried when the ray segment crosses its bounding box.
* A ray that starts inside an obstacle: inside a box or cylinder (deeper than the 1 mm margin)
  the obstacle is not reported at all (Bullet's ray cast has no penetration solver), and the
  ray sees whatever lies beyond it; inside a sphere it reads 0 if it heads towards the sphere's
  centre (a positive component along centre-minus-start), and ignores the sphere otherwise.
* The ground plane is hit exactly where the ray crosses it (PyBullet would also report an
  upward crossing from below the floor; below the floor is a collision in the env, so only
  downward rays from above are modelled).
* ``getClosestPoints`` and contacts of the drone sphere use the same rounded shapes: the
  distance is the exact distance to the rounded shape minus the drone's radius (negative when
  penetrating), and the ground contact distance is ``z - floor_z - radius``.

Where the twin still differs from PyBullet (measured): Bullet's GJK distance to a cylinder is
approximate (up to ~2 um too long), which advancement amplifies for rays grazing a cylinder's
side. In the forest world 0.2 % of readings differ by more than 0.1 mm and 0.05 % by more than
1 mm (a hit in one and a miss in the other, or hits centimetres apart); boxes and spheres agree
to 1e-9 m. A ray exactly parallel to a face and within 1 mm of it (an up or down ray along a
wall) hits or misses in PyBullet by the sign of rounding noise; the twin misses. Clearance to
cylinders agrees within ~7 um, and contact decisions differ only within ~6 um of a cylinder.
"""

from __future__ import annotations

import math

from numba import njit

from spikefly.worlds import SHAPE_BOX, SHAPE_CYLINDER, SHAPE_SPHERE

COLLISION_MARGIN_M = 0.001
"""PyBullet's margin for boxes and cylinders made by ``createCollisionShape(Array)``, m."""
RAY_HIT_TOLERANCE_M = 0.001
"""Distance at which ``btGjkConvexCast`` stops advancing along a ray and reports a hit, m."""
RAY_MAX_STEPS = 32
"""Advancement steps ``btGjkConvexCast`` takes before it gives up (no hit)."""

_CULL_SLACK_M = RAY_HIT_TOLERANCE_M + 1e-9


@njit(cache=True, error_model="numpy")
def core_half_extents(kind, hx, hy, hz):
    """The core of an obstacle as PyBullet models it: (core half x, y, z, margin), m.

    Box: half sizes minus the margin; cylinder: (r - margin, r - margin, h/2 - margin); sphere:
    a point (0, 0, 0) with the radius as margin. The shape is the core swept by the margin.
    """
    if kind == SHAPE_SPHERE:
        return 0.0, 0.0, 0.0, hx
    m = COLLISION_MARGIN_M
    return hx - m, hy - m, hz - m, m


@njit(cache=True, error_model="numpy")
def core_distance(px, py, pz, kind, cx, cy, cz, chx, chy, chz, cos_yaw, sin_yaw):
    """Distance from point p to an obstacle's core and the outward unit normal there.

    ``c`` is the centre, ``ch`` the core half extents (:func:`core_half_extents`), ``cos_yaw``
    and ``sin_yaw`` the box's yaw (ignored for cylinders and spheres). Returns (distance m,
    nx, ny, nz): distance > 0 outside the core with the normal pointing from the core's closest
    point to p; <= 0 inside the core (minus the depth) with the normal of the nearest face.
    """
    ox = px - cx
    oy = py - cy
    oz = pz - cz
    if kind == SHAPE_BOX:
        lx = cos_yaw * ox + sin_yaw * oy  # into the box frame (rotate by -yaw)
        ly = -sin_yaw * ox + cos_yaw * oy
        ex = lx - min(max(lx, -chx), chx)
        ey = ly - min(max(ly, -chy), chy)
        ez = oz - min(max(oz, -chz), chz)
        d2 = ex * ex + ey * ey + ez * ez
        if d2 > 0.0:
            d = math.sqrt(d2)
            nlx = ex / d
            nly = ey / d
            return d, cos_yaw * nlx - sin_yaw * nly, sin_yaw * nlx + cos_yaw * nly, ez / d
        fx = chx - abs(lx)
        fy = chy - abs(ly)
        fz = chz - abs(oz)
        if fx <= fy and fx <= fz:
            sx = 1.0 if lx >= 0.0 else -1.0
            return -fx, cos_yaw * sx, sin_yaw * sx, 0.0
        if fy <= fz:
            sy = 1.0 if ly >= 0.0 else -1.0
            return -fy, -sin_yaw * sy, cos_yaw * sy, 0.0
        return -fz, 0.0, 0.0, 1.0 if oz >= 0.0 else -1.0
    if kind == SHAPE_CYLINDER:
        rho = math.sqrt(ox * ox + oy * oy)
        if rho > 0.0:
            ux = ox / rho
            uy = oy / rho
        else:
            ux = 1.0
            uy = 0.0
        radial = rho - chx
        axial = abs(oz) - chz
        sz = 1.0 if oz >= 0.0 else -1.0
        if radial > 0.0 or axial > 0.0:
            er = max(radial, 0.0)
            ez = max(axial, 0.0)
            d = math.sqrt(er * er + ez * ez)
            return d, ux * er / d, uy * er / d, sz * ez / d
        if radial >= axial:
            return radial, ux, uy, 0.0
        return axial, 0.0, 0.0, sz
    d = math.sqrt(ox * ox + oy * oy + oz * oz)
    if d > 0.0:
        return d, ox / d, oy / d, oz / d
    return 0.0, 0.0, 0.0, 1.0


@njit(cache=True, error_model="numpy")
def obstacle_signed_distance(px, py, pz, kind, cx, cy, cz, hx, hy, hz, yaw_rad):
    """Signed distance (m) from point p to one obstacle's surface as PyBullet models it.

    Exact for spheres and for the faces of boxes and cylinders; edges and rims are rounded by
    ``COLLISION_MARGIN_M``. Positive outside, negative inside.
    """
    chx, chy, chz, margin = core_half_extents(kind, hx, hy, hz)
    d, _, _, _ = core_distance(px, py, pz, kind, cx, cy, cz, chx, chy, chz, math.cos(yaw_rad), math.sin(yaw_rad))
    return d - margin


@njit(cache=True, error_model="numpy")
def ray_obstacle_advance(ox, oy, oz, dx, dy, dz, limit_t, kind, cx, cy, cz, chx, chy, chz, margin, cos_yaw, sin_yaw):
    """Where the ray o + t d (d unit) hits one obstacle by PyBullet's conservative advancement.

    ``ch``/``margin`` from :func:`core_half_extents`. Returns t in [0, ``limit_t``], or
    ``math.inf`` when PyBullet reports no hit before ``limit_t`` (see the module docstring:
    starts inside a box or cylinder core, heads away, or needs more than ``RAY_MAX_STEPS``).
    The bounding-box test that precedes it in Bullet is :func:`ray_crosses_box`.
    """
    t = 0.0
    d, nx, ny, nz = core_distance(ox, oy, oz, kind, cx, cy, cz, chx, chy, chz, cos_yaw, sin_yaw)
    if d <= 0.0:
        return math.inf
    gap = d - margin
    steps = 0
    while gap > RAY_HIT_TOLERANCE_M:
        steps += 1
        approach = dx * nx + dy * ny + dz * nz
        if steps > RAY_MAX_STEPS or approach >= 0.0:
            return math.inf
        t_next = t - gap / approach
        if t_next > limit_t or t_next <= t:
            return math.inf
        t = t_next
        d, nx, ny, nz = core_distance(
            ox + t * dx, oy + t * dy, oz + t * dz, kind, cx, cy, cz, chx, chy, chz, cos_yaw, sin_yaw
        )
        if d <= 0.0:
            return math.inf
        gap = d - margin
        if gap < 0.0:
            return t
    if dx * nx + dy * ny + dz * nz >= 0.0:
        return math.inf
    return t


@njit(cache=True, error_model="numpy")
def obstacle_box_half(kind, hx, hy, hz, cos_yaw, sin_yaw):
    """Half sizes (x, y, z) of an obstacle's axis-aligned bounding box, m (as Bullet builds it)."""
    if kind == SHAPE_BOX:
        ac = abs(cos_yaw)
        asn = abs(sin_yaw)
        return ac * hx + asn * hy, asn * hx + ac * hy, hz
    return hx, hy, hz


@njit(cache=True, error_model="numpy")
def _slab(o, d, lo, hi, t_min, t_max):
    """Clip [t_min, t_max] to the t where o + t d lies in [lo, hi] (one axis); empty if t_min > t_max."""
    if d == 0.0:
        if o < lo or o > hi:
            return 1.0, 0.0
        return t_min, t_max
    t0 = (lo - o) / d
    t1 = (hi - o) / d
    if t0 > t1:
        t0, t1 = t1, t0
    return max(t_min, t0), min(t_max, t1)


@njit(cache=True, error_model="numpy")
def ray_crosses_box(ox, oy, oz, dx, dy, dz, length, cx, cy, cz, bx, by, bz):
    """Whether the segment o + t d, 0 <= t <= ``length``, crosses the box c ± b (Bullet's slab test)."""
    t_min, t_max = _slab(ox, dx, cx - bx, cx + bx, 0.0, length)
    if t_min > t_max:
        return False
    t_min, t_max = _slab(oy, dy, cy - by, cy + by, t_min, t_max)
    if t_min > t_max:
        return False
    t_min, t_max = _slab(oz, dz, cz - bz, cz + bz, t_min, t_max)
    return t_min <= t_max


@njit(cache=True, error_model="numpy")
def ray_hit_distance(ox, oy, oz, dx, dy, dz, max_t, shape, position, half_extents, yaw, count, floor_z):
    """Distance t (m) along the ray o + t d (d unit) to the first obstacle or ground hit, or ``max_t``.

    What PyBullet's ``rayTestBatch`` reports for the segment from o to o + ``max_t`` d (see the
    module docstring for its 1 mm rules and for starts inside an obstacle). The ground plane
    ``z = floor_z`` counts only for a downward ray starting above it.
    """
    best = max_t
    if dz < 0.0 and oz > floor_z:
        t = (oz - floor_z) / -dz
        if t < best:
            best = t
    for i in range(count):
        kind = shape[i]
        cx = position[i, 0]
        cy = position[i, 1]
        cz = position[i, 2]
        hx = half_extents[i, 0]
        hy = half_extents[i, 1]
        hz = half_extents[i, 2]
        cos_yaw = math.cos(yaw[i])
        sin_yaw = math.sin(yaw[i])
        bx, by, bz = obstacle_box_half(kind, hx, hy, hz, cos_yaw, sin_yaw)
        if not ray_crosses_box(ox, oy, oz, dx, dy, dz, max_t, cx, cy, cz, bx, by, bz):
            continue
        chx, chy, chz, margin = core_half_extents(kind, hx, hy, hz)
        t = ray_obstacle_advance(ox, oy, oz, dx, dy, dz, best, kind, cx, cy, cz, chx, chy, chz, margin, cos_yaw, sin_yaw)
        if t < best:
            best = t
    return best


@njit(cache=True, error_model="numpy")
def _cast_rays(
    position, yaw_rad, directions, start_m, max_range_m, shape, position_m, half_extents, yaw_arr, count, floor_z, out, cull
):
    """:func:`cast_rays`, with the range culling switchable (``cull``) to measure what it saves."""
    rays = directions.shape[0]
    cos_heading = math.cos(yaw_rad)
    sin_heading = math.sin(yaw_rad)
    px = position[0]
    py = position[1]
    pz = position[2]
    length = max_range_m - start_m
    for j in range(rays):
        out[j] = length
        wz = directions[j, 2]
        oz = pz + start_m * wz
        if wz < 0.0 and oz > floor_z:
            t = (oz - floor_z) / -wz
            if t < length:
                out[j] = t
    # Obstacles outer, rays inner: an obstacle's trigonometry and culling are done once per call.
    for i in range(count):
        kind = shape[i]
        cx = position_m[i, 0]
        cy = position_m[i, 1]
        cz = position_m[i, 2]
        hx = half_extents[i, 0]
        hy = half_extents[i, 1]
        hz = half_extents[i, 2]
        if cull:
            # Every hit lies within 1 mm of the shape and on a segment inside the ball of radius
            # max_range_m about the drone, so a shape farther than that is never reported.
            reach_xy = max_range_m + _CULL_SLACK_M + (math.sqrt(hx * hx + hy * hy) if kind == SHAPE_BOX else hx)
            ex = cx - px
            ey = cy - py
            if ex * ex + ey * ey > reach_xy * reach_xy or abs(cz - pz) > max_range_m + _CULL_SLACK_M + hz:
                continue
        cos_yaw = math.cos(yaw_arr[i])
        sin_yaw = math.sin(yaw_arr[i])
        bx, by, bz = obstacle_box_half(kind, hx, hy, hz, cos_yaw, sin_yaw)
        chx, chy, chz, margin = core_half_extents(kind, hx, hy, hz)
        for j in range(rays):
            wx = cos_heading * directions[j, 0] - sin_heading * directions[j, 1]
            wy = sin_heading * directions[j, 0] + cos_heading * directions[j, 1]
            wz = directions[j, 2]
            ox = px + start_m * wx
            oy = py + start_m * wy
            oz = pz + start_m * wz
            # The whole segment, as Bullet: advancement may stop up to 1 mm before the box.
            if not ray_crosses_box(ox, oy, oz, wx, wy, wz, length, cx, cy, cz, bx, by, bz):
                continue
            best = out[j]
            t = ray_obstacle_advance(ox, oy, oz, wx, wy, wz, best, kind, cx, cy, cz, chx, chy, chz, margin, cos_yaw, sin_yaw)
            if t < best:
                out[j] = t
    for j in range(rays):
        out[j] += start_m


@njit(cache=True, error_model="numpy")
def cast_rays(position, yaw_rad, directions, start_m, max_range_m, shape, position_m, half_extents, yaw_arr, count, floor_z, out):
    """Range readings of one drone into ``out`` float64[R], m from the drone's centre.

    The semantics of ``PyBulletQuadrotor.ranges``: ``directions`` float64[R, 3] are unit
    vectors in the heading frame, turned by ``yaw_rad`` only (the sensor is attitude
    compensated); each ray runs from ``start_m`` to ``max_range_m`` from the centre
    ``position`` float64[3]; a reading is ``start_m + t`` at the first hit
    (:func:`ray_hit_distance`) or ``max_range_m``. Obstacles that cannot be reached within
    ``max_range_m`` are skipped, which changes no reading.
    """
    _cast_rays(
        position, yaw_rad, directions, start_m, max_range_m, shape, position_m, half_extents, yaw_arr, count, floor_z, out, True
    )


@njit(cache=True, error_model="numpy")
def _distance_lower_bound(px, py, pz, kind, cx, cy, cz, hx, hy, hz):
    """A lower bound (m) of a point's signed distance to an obstacle, without trigonometry.

    The signed distance to the obstacle's bounding vertical cylinder (or less): a shape inside
    another is never nearer.
    """
    ex = cx - px
    ey = cy - py
    radius_xy = math.sqrt(hx * hx + hy * hy) if kind == SHAPE_BOX else hx
    return max(math.sqrt(ex * ex + ey * ey) - radius_xy, abs(cz - pz) - hz)


@njit(cache=True, error_model="numpy")
def sphere_clearance(px, py, pz, radius_m, shape, position, half_extents, yaw, count, cap_m):
    """Distance (m) from the drone sphere's surface to the nearest obstacle surface, at most ``cap_m``.

    Negative when penetrating; the ground is not an obstacle here. PyBullet's
    ``getClosestPoints(drone, obstacle_body)`` (``PyBulletQuadrotor.clearance_m``), capped.
    """
    best = cap_m
    for i in range(count):
        kind = shape[i]
        cx = position[i, 0]
        cy = position[i, 1]
        cz = position[i, 2]
        hx = half_extents[i, 0]
        hy = half_extents[i, 1]
        hz = half_extents[i, 2]
        if _distance_lower_bound(px, py, pz, kind, cx, cy, cz, hx, hy, hz) - radius_m >= best:
            continue
        distance = obstacle_signed_distance(px, py, pz, kind, cx, cy, cz, hx, hy, hz, yaw[i]) - radius_m
        if distance < best:
            best = distance
    return best


@njit(cache=True, error_model="numpy")
def sphere_collides(px, py, pz, radius_m, shape, position, half_extents, yaw, count, floor_z):
    """Whether the drone sphere touches or penetrates an obstacle or the ground.

    PyBullet's contact distance <= 0: ``pz - floor_z <= radius_m``, or the sphere's distance to
    an obstacle (as in :func:`sphere_clearance`) <= 0.
    """
    if pz - floor_z <= radius_m:
        return True
    for i in range(count):
        kind = shape[i]
        cx = position[i, 0]
        cy = position[i, 1]
        cz = position[i, 2]
        hx = half_extents[i, 0]
        hy = half_extents[i, 1]
        hz = half_extents[i, 2]
        if _distance_lower_bound(px, py, pz, kind, cx, cy, cz, hx, hy, hz) > radius_m:
            continue
        if obstacle_signed_distance(px, py, pz, kind, cx, cy, cz, hx, hy, hz, yaw[i]) <= radius_m:
            return True
    return False
