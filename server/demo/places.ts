// The geography the demo generator starts from: towns, mines, hills, rivers, roads and the named
// features of each plan, as plain data (lon/lat in degrees, EPSG:4490; radii in km). Positions are
// approximations read off small-scale maps of Datong, good to a few km: enough for a demo that a
// planner recognises, not survey data. Everything here is independent of the seed, so the named
// features (and the deliberate conflicts built on them) are the same in every load.

/** A settlement: attracts construction land in the land-use status and plan layers. */
export interface Town {
  name: string;
  lon: number;
  lat: number;
  /** Radius (km) of its built-up influence (a Gaussian fall-off). */
  r_km: number;
}

export const towns: Town[] = [
  // central city (城区 and the ring of 南郊区 around it) and 矿区
  { name: '大同市区', lon: 113.3, lat: 40.085, r_km: 7.5 },
  { name: '御东新区', lon: 113.37, lat: 40.08, r_km: 3.5 },
  { name: '矿区新胜', lon: 113.17, lat: 40.045, r_km: 2.2 },
  // 南郊区
  { name: '口泉乡', lon: 113.18, lat: 40.03, r_km: 1.3 },
  { name: '高山镇', lon: 113.05, lat: 40.07, r_km: 1.2 },
  { name: '云冈镇', lon: 113.13, lat: 40.1, r_km: 1.4 },
  { name: '古店镇', lon: 113.27, lat: 40.0, r_km: 1.0 },
  { name: '鸦儿崖乡', lon: 113.0, lat: 39.98, r_km: 0.8 },
  { name: '西韩岭乡', lon: 113.38, lat: 40.16, r_km: 0.8 },
  { name: '马军营乡', lon: 113.36, lat: 40.03, r_km: 0.9 },
  { name: '水泊寺乡', lon: 113.3, lat: 40.15, r_km: 0.8 },
  // 新荣区
  { name: '新荣镇', lon: 113.14, lat: 40.26, r_km: 1.5 },
  { name: '破鲁堡乡', lon: 113.2, lat: 40.42, r_km: 0.7 },
  { name: '郭家窑乡', lon: 113.3, lat: 40.3, r_km: 0.7 },
  { name: '堡子湾乡', lon: 113.08, lat: 40.36, r_km: 0.6 },
  { name: '花园屯乡', lon: 113.22, lat: 40.2, r_km: 0.7 },
  // 左云县
  { name: '云兴镇', lon: 112.7, lat: 40.01, r_km: 2.0 },
  { name: '鹊儿山镇', lon: 112.82, lat: 40.04, r_km: 0.8 },
  { name: '店湾镇', lon: 112.58, lat: 40.1, r_km: 0.6 },
  { name: '三屯乡', lon: 112.6, lat: 39.95, r_km: 0.6 },
  { name: '管家堡乡', lon: 112.88, lat: 39.95, r_km: 0.6 },
  // 大同县
  { name: '西坪镇', lon: 113.61, lat: 40.0, r_km: 1.8 },
  { name: '倍加造镇', lon: 113.5, lat: 39.98, r_km: 0.8 },
  { name: '周士庄镇', lon: 113.48, lat: 40.12, r_km: 0.8 },
  { name: '吉家庄乡', lon: 113.7, lat: 39.9, r_km: 0.7 },
  { name: '峰峪乡', lon: 113.8, lat: 40.05, r_km: 0.6 },
  { name: '党留庄乡', lon: 113.42, lat: 40.0, r_km: 0.8 },
  // 阳高县
  { name: '龙泉镇', lon: 113.75, lat: 40.36, r_km: 2.0 },
  { name: '罗文皂镇', lon: 113.9, lat: 40.3, r_km: 0.8 },
  { name: '王官屯镇', lon: 113.62, lat: 40.27, r_km: 0.7 },
  { name: '大白登镇', lon: 113.95, lat: 40.22, r_km: 0.7 },
  { name: '古城镇', lon: 113.58, lat: 40.4, r_km: 0.6 },
  // 天镇县
  { name: '玉泉镇', lon: 114.09, lat: 40.42, r_km: 1.8 },
  { name: '新平堡镇', lon: 114.25, lat: 40.52, r_km: 0.6 },
  { name: '米薪关镇', lon: 113.98, lat: 40.3, r_km: 0.6 },
  { name: '谷前堡镇', lon: 114.18, lat: 40.32, r_km: 0.6 },
  // 广灵县
  { name: '壶泉镇', lon: 114.28, lat: 39.76, r_km: 1.5 },
  { name: '作疃乡', lon: 114.15, lat: 39.8, r_km: 0.6 },
  { name: '南村镇', lon: 114.38, lat: 39.72, r_km: 0.6 },
  { name: '加斗乡', lon: 114.2, lat: 39.7, r_km: 0.6 },
  // 灵丘县
  { name: '武灵镇', lon: 114.23, lat: 39.44, r_km: 1.6 },
  { name: '东河南镇', lon: 114.38, lat: 39.35, r_km: 0.6 },
  { name: '上寨镇', lon: 114.1, lat: 39.3, r_km: 0.6 },
  { name: '落水河乡', lon: 114.18, lat: 39.55, r_km: 0.6 },
  { name: '红石塄乡', lon: 114.05, lat: 39.5, r_km: 0.6 },
  // 浑源县
  { name: '永安镇', lon: 113.69, lat: 39.7, r_km: 1.8 },
  { name: '西留乡', lon: 113.55, lat: 39.75, r_km: 0.6 },
  { name: '沙圪坨镇', lon: 113.8, lat: 39.8, r_km: 0.6 },
  { name: '王庄堡镇', lon: 113.95, lat: 39.55, r_km: 0.6 },
];

/** A 同煤集团 coal mine of the 大同煤田 (west of the city): centre of its subsidence basin. */
export interface Mine {
  name: string;
  lon: number;
  lat: number;
  /** Radius (km) of its subsidence basin at demo scale (the large scale widens it). */
  r_km: number;
  /** Remediation stage of its subsidence: 口泉乡 (Kouquan) was the 2015 model. */
  stage: '未治理' | '治理中' | '已治理';
}

export const mines: Mine[] = [
  // First: earlier mines keep overlapping subsidence, and its unstable core must stay whole (conflict C6).
  { name: '同家梁矿', lon: 113.205, lat: 40.06, r_km: 1.6, stage: '治理中' },
  { name: '塔山矿', lon: 112.98, lat: 39.955, r_km: 3.2, stage: '未治理' },
  { name: '同忻矿', lon: 113.07, lat: 40.015, r_km: 3.0, stage: '治理中' },
  { name: '燕子山矿', lon: 112.93, lat: 40.05, r_km: 2.8, stage: '未治理' },
  { name: '四台矿', lon: 113.03, lat: 40.14, r_km: 2.8, stage: '治理中' },
  { name: '晋华宫矿', lon: 113.1, lat: 40.085, r_km: 2.0, stage: '治理中' },
  { name: '忻州窑矿', lon: 113.14, lat: 40.02, r_km: 2.0, stage: '已治理' },
  { name: '煤峪口矿', lon: 113.16, lat: 40.055, r_km: 1.8, stage: '已治理' },
  { name: '永定庄矿', lon: 113.12, lat: 39.995, r_km: 2.0, stage: '已治理' },
  { name: '雁崖矿', lon: 113.02, lat: 40.05, r_km: 2.0, stage: '未治理' },
  { name: '马脊梁矿', lon: 113.0, lat: 40.1, r_km: 2.0, stage: '未治理' },
  { name: '鹊儿山矿', lon: 112.82, lat: 40.07, r_km: 2.2, stage: '未治理' },
  { name: '左云小京庄矿', lon: 112.74, lat: 40.1, r_km: 2.0, stage: '未治理' },
  { name: '新荣白洞矿', lon: 113.08, lat: 40.2, r_km: 2.0, stage: '未治理' },
];

/** Hills and mountains as Gaussian bumps of a "relief" field (0..1): forest and grass there. */
export const mountains = [
  { name: '恒山', lon: 113.73, lat: 39.64, rx_km: 16, ry_km: 9, h: 1.0 },
  { name: '灵丘太行山区', lon: 114.42, lat: 39.28, rx_km: 26, ry_km: 16, h: 1.0 },
  { name: '灵丘西部山区', lon: 113.95, lat: 39.38, rx_km: 16, ry_km: 14, h: 0.85 },
  { name: '浑源南山', lon: 113.58, lat: 39.5, rx_km: 20, ry_km: 11, h: 0.9 },
  { name: '广灵南山', lon: 114.25, lat: 39.62, rx_km: 16, ry_km: 7, h: 0.8 },
  { name: '六棱山', lon: 113.95, lat: 39.96, rx_km: 20, ry_km: 8, h: 0.8 },
  { name: '采凉山', lon: 113.5, lat: 40.22, rx_km: 10, ry_km: 7, h: 0.75 },
  { name: '新荣北部长城丘陵', lon: 113.15, lat: 40.46, rx_km: 22, ry_km: 8, h: 0.6 },
  { name: '左云南部山地', lon: 112.72, lat: 39.9, rx_km: 14, ry_km: 9, h: 0.6 },
  { name: '天镇北部山地', lon: 114.15, lat: 40.56, rx_km: 20, ry_km: 8, h: 0.7 },
  { name: '阳高北部山地', lon: 113.8, lat: 40.52, rx_km: 15, ry_km: 6, h: 0.6 },
];

type Line = { name: string; code: string; ref?: string; coords: [number, number][] };

/** Rivers (code: registry classes of `rivers`); traced roughly, west/upstream first. */
export const rivers: Line[] = [
  { name: '桑干河', code: 'main', coords: [[113.28, 39.79], [113.4, 39.85], [113.52, 39.88], [113.65, 39.92], [113.78, 39.98], [113.86, 40.02], [113.96, 40.06], [114.1, 40.12], [114.26, 40.2]] },
  { name: '御河', code: 'main', coords: [[113.24, 40.56], [113.27, 40.42], [113.31, 40.27], [113.33, 40.16], [113.335, 40.085], [113.35, 40.0], [113.42, 39.93], [113.5, 39.88]] },
  { name: '十里河', code: 'tributary', coords: [[112.62, 39.97], [112.8, 39.99], [112.96, 40.005], [113.1, 40.02], [113.2, 40.005], [113.3, 39.985], [113.36, 39.985]] },
  { name: '淤泥河', code: 'tributary', coords: [[112.6, 40.12], [112.72, 40.08], [112.85, 40.1], [112.95, 40.13], [113.05, 40.17]] },
  { name: '南洋河', code: 'tributary', coords: [[113.55, 40.46], [113.7, 40.4], [113.85, 40.36], [114.05, 40.35], [114.2, 40.27], [114.32, 40.22]] },
  { name: '壶流河', code: 'tributary', coords: [[114.05, 39.69], [114.2, 39.73], [114.3, 39.78], [114.45, 39.85]] },
  { name: '唐河', code: 'tributary', coords: [[113.95, 39.34], [114.1, 39.4], [114.24, 39.43], [114.4, 39.37], [114.52, 39.3]] },
  { name: '浑河', code: 'tributary', coords: [[113.42, 39.6], [113.58, 39.67], [113.7, 39.71], [113.78, 39.84], [113.8, 39.97]] },
];

/** Main roads (code: registry classes of `roads`). */
export const roads: Line[] = [
  { name: '二广高速', ref: 'G55', code: 'expressway', coords: [[113.2, 40.62], [113.23, 40.4], [113.25, 40.2], [113.24, 40.1], [113.22, 39.98], [113.16, 39.86], [113.08, 39.74]] },
  { name: '荣乌高速', ref: 'G18', code: 'expressway', coords: [[112.58, 40.05], [112.75, 40.02], [112.95, 40.0], [113.2, 39.97], [113.45, 39.95], [113.65, 39.8], [113.72, 39.68], [113.95, 39.52], [114.2, 39.45], [114.5, 39.3]] },
  { name: '京大高速', ref: 'G6', code: 'expressway', coords: [[113.32, 40.06], [113.5, 40.1], [113.75, 40.33], [114.0, 40.38], [114.2, 40.43], [114.45, 40.5]] },
  { name: '大运高速', ref: 'G5501', code: 'expressway', coords: [[113.24, 40.1], [113.15, 40.02], [113.0, 39.9], [112.85, 39.78]] },
  { name: '国道109线', ref: 'G109', code: 'national', coords: [[112.58, 40.0], [112.85, 40.03], [113.05, 40.06], [113.2, 40.07], [113.3, 40.07], [113.55, 40.05], [113.8, 40.2], [114.1, 40.4], [114.5, 40.55]] },
  { name: '国道208线', ref: 'G208', code: 'national', coords: [[113.28, 40.62], [113.29, 40.4], [113.3, 40.2], [113.3, 40.09], [113.26, 39.95], [113.2, 39.8]] },
  { name: '大同—浑源—灵丘公路', ref: 'S203', code: 'provincial', coords: [[113.36, 40.05], [113.55, 39.9], [113.69, 39.7], [113.9, 39.58], [114.23, 39.44]] },
  { name: '浑源—广灵公路', ref: 'S302', code: 'provincial', coords: [[113.69, 39.7], [113.95, 39.72], [114.28, 39.76], [114.45, 39.8]] },
  { name: '大同—左云公路', ref: 'S212', code: 'provincial', coords: [[113.18, 40.04], [112.95, 40.02], [112.7, 40.01]] },
  { name: '魏都大道', code: 'urban_arterial', coords: [[113.295, 40.15], [113.298, 40.09], [113.3, 40.03]] },
  { name: '迎宾街', code: 'urban_arterial', coords: [[113.22, 40.075], [113.3, 40.078], [113.42, 40.08]] },
  { name: '云中路', code: 'urban_arterial', coords: [[113.25, 40.05], [113.3, 40.052], [113.36, 40.055]] },
  { name: '同煤快线', code: 'urban_arterial', coords: [[113.27, 40.06], [113.22, 40.05], [113.18, 40.035]] },
  { name: '北都街', code: 'urban_arterial', coords: [[113.24, 40.12], [113.3, 40.118], [113.37, 40.12]] },
];

/**
 * The central city (中心城区) outline, traced by hand around 城区 and the built-up ring of 南郊区
 * (about 150 km²), clockwise from the north-west.
 */
export const centralCity: [number, number][] = [
  [113.234, 40.124], [113.278, 40.136], [113.326, 40.134], [113.370, 40.124], [113.398, 40.104], [113.406, 40.072],
  [113.390, 40.040], [113.350, 40.028], [113.302, 40.032], [113.262, 40.040], [113.226, 40.056], [113.218, 40.088], [113.234, 40.124],
];

/** A named roughly elliptical area: lon/lat centre, semi-axes in km. */
export interface Area {
  name: string;
  lon: number;
  lat: number;
  rx_km: number;
  ry_km: number;
}

/** 生态保护红线 pieces, with their main ecological function. */
export const redlines: (Area & { fn: string })[] = [
  { name: '恒山水源涵养与生物多样性维护红线', fn: '水源涵养、生物多样性维护', lon: 113.72, lat: 39.64, rx_km: 14, ry_km: 7 },
  { name: '灵丘太行山生物多样性维护红线', fn: '生物多样性维护', lon: 114.42, lat: 39.28, rx_km: 20, ry_km: 12 },
  { name: '六棱山水源涵养红线', fn: '水源涵养', lon: 113.95, lat: 39.95, rx_km: 12, ry_km: 5 },
  { name: '采凉山水土保持红线', fn: '水土保持', lon: 113.5, lat: 40.22, rx_km: 7, ry_km: 5 },
  { name: '广灵南山水土保持红线', fn: '水土保持', lon: 114.25, lat: 39.62, rx_km: 10, ry_km: 5 },
  { name: '天镇北部防风固沙红线', fn: '防风固沙', lon: 114.15, lat: 40.56, rx_km: 12, ry_km: 5 },
  // Deliberately reaches into the west of the 塔山 park (conflict C4).
  { name: '十里河源头水源涵养红线', fn: '水源涵养', lon: 112.9, lat: 39.975, rx_km: 5, ry_km: 3.5 },
];

/** Drinking-water sources: grade 1/2/3 zones nested with these radii (km). */
export const waterSources: { name: string; lon: number; lat: number; r_km: [number, number, number] }[] = [
  { name: '册田水库饮用水水源地', lon: 113.85, lat: 40.01, r_km: [2.0, 5.0, 9.0] },
  { name: '大同市北水源地(御河井群)', lon: 113.33, lat: 40.2, r_km: [0.8, 2.5, 5.0] },
  // Its grade-2 zone reaches into the 经济技术开发区 (conflict C5).
  { name: '大同市东水源地(御河东岸井群)', lon: 113.46, lat: 40.0, r_km: [0.8, 2.6, 4.5] },
  { name: '浑源县城水源地', lon: 113.66, lat: 39.73, r_km: [0.5, 1.5, 3.0] },
  { name: '灵丘县唐河水源地', lon: 114.18, lat: 39.42, r_km: [0.6, 1.8, 3.5] },
  { name: '广灵县壶流河水源地', lon: 114.24, lat: 39.74, r_km: [0.5, 1.5, 3.0] },
  { name: '阳高县城水源地', lon: 113.72, lat: 40.38, r_km: [0.5, 1.5, 3.0] },
];

/** Nature reserves: core/buffer/experimental nested with these radius factors of the area. */
export const reserves: (Area & { level: string })[] = [
  { name: '恒山省级自然保护区', level: '省级', lon: 113.74, lat: 39.66, rx_km: 7, ry_km: 4 },
  { name: '灵丘黑鹳省级自然保护区', level: '省级', lon: 114.38, lat: 39.36, rx_km: 9, ry_km: 6 },
  { name: '桑干河省级自然保护区', level: '省级', lon: 113.62, lat: 39.915, rx_km: 7, ry_km: 2.5 },
];

/** Areas that the main-functional-zone plan puts in 禁止开发区域 besides the nature reserves. */
export const prohibitedAreas: Area[] = [
  { name: '北岳恒山国家级风景名胜区', lon: 113.72, lat: 39.64, rx_km: 5, ry_km: 3 },
  { name: '云冈石窟世界文化遗产', lon: 113.125, lat: 40.11, rx_km: 1.5, ry_km: 1.0 },
  // The 医药工业园区's logistics zone lies inside it (conflict C9).
  { name: '大同火山群国家地质公园', lon: 113.555, lat: 40.085, rx_km: 3.5, ry_km: 2.5 },
];

/** Industrial parks: an area split into functional zones (registry classes of `industrial_parks`). */
export const parks: (Area & { industry: string; zones: string[] })[] = [
  { name: '大同经济技术开发区', industry: '装备制造、新能源汽车、新材料', lon: 113.415, lat: 40.02, rx_km: 3.0, ry_km: 2.2, zones: ['manufacturing', 'manufacturing', 'logistics', 'rnd', 'services', 'manufacturing'] },
  { name: '大同医药工业园区', industry: '现代中药、生物医药', lon: 113.515, lat: 40.085, rx_km: 2.0, ry_km: 1.4, zones: ['manufacturing', 'rnd', 'services', 'manufacturing'] },
  { name: '塔山煤炭循环经济园区', industry: '煤炭、电力、煤化工、建材循环经济', lon: 112.96, lat: 39.985, rx_km: 3.0, ry_km: 2.0, zones: ['manufacturing', 'manufacturing', 'logistics', 'services'] },
  { name: '阳高龙泉工业园区', industry: '农副产品加工、新能源装备', lon: 113.78, lat: 40.34, rx_km: 1.6, ry_km: 1.1, zones: ['manufacturing', 'logistics', 'services'] },
  { name: '左云鹊儿山工业园区', industry: '煤电、陶瓷建材', lon: 112.8, lat: 40.015, rx_km: 1.5, ry_km: 1.0, zones: ['manufacturing', 'logistics'] },
];
