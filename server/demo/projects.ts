// Point and site features of the demo: major projects of the development plan, PV plants and
// approved project sites. Names follow real Datong projects of 2013–2016 where known; numbers
// (investment, capacity, approval numbers) are plausible inventions. Sites are rectangles of
// w_m × h_m metres centred on lon/lat (degrees, EPSG:4490).

/** A rectangular site. */
export interface Site {
  lon: number;
  lat: number;
  w_m: number;
  h_m: number;
}

/** 重大项目布局 (registry layer econ_projects): code, name, investment (亿元), start year. */
export const econProjects: { code: string; name: string; lon: number; lat: number; inv: number; year: number }[] = [
  { code: 'energy', name: '大同采煤沉陷区国家先进技术光伏示范基地', lon: 113.0, lat: 40.03, inv: 80, year: 2015 },
  { code: 'energy', name: '同煤集团塔山2×660MW低热值煤发电项目', lon: 112.97, lat: 39.97, inv: 52, year: 2015 },
  { code: 'energy', name: '大唐大同第二发电厂三期扩建', lon: 113.35, lat: 40.18, inv: 45, year: 2015 },
  { code: 'energy', name: '国电大同湖东电厂2×1000MW项目', lon: 113.48, lat: 40.1, inv: 80, year: 2016 },
  { code: 'energy', name: '左云风电场二期', lon: 112.6, lat: 40.08, inv: 8.5, year: 2015 },
  { code: 'energy', name: '天镇风光互补发电项目', lon: 114.2, lat: 40.5, inv: 9.2, year: 2015 },
  { code: 'energy', name: '广灵分布式光伏扶贫项目', lon: 114.25, lat: 39.78, inv: 3.1, year: 2016 },
  { code: 'energy', name: '大同煤层气综合利用项目', lon: 112.88, lat: 40.0, inv: 12, year: 2016 },
  { code: 'industry', name: '大同经济技术开发区装备制造产业园', lon: 113.42, lat: 40.02, inv: 60, year: 2014 },
  { code: 'industry', name: '比亚迪大同新能源汽车产业园', lon: 113.43, lat: 40.03, inv: 50, year: 2016 },
  { code: 'industry', name: '大同医药工业园区中药现代化基地', lon: 113.51, lat: 40.085, inv: 20, year: 2015 },
  { code: 'industry', name: '塔山循环经济园区煤化工项目', lon: 112.955, lat: 39.99, inv: 35, year: 2015 },
  { code: 'industry', name: '大同煤矿集团煤机装备制造基地', lon: 113.25, lat: 40.05, inv: 18, year: 2015 },
  { code: 'industry', name: '阳高龙泉工业园区农产品加工项目', lon: 113.78, lat: 40.345, inv: 6, year: 2015 },
  { code: 'industry', name: '大同石墨烯新材料产业基地', lon: 113.4, lat: 40.01, inv: 15, year: 2016 },
  { code: 'infrastructure', name: '大同至张家口高速铁路(大同段)', lon: 113.6, lat: 40.15, inv: 120, year: 2016 },
  { code: 'infrastructure', name: '大同云冈机场改扩建工程', lon: 113.48, lat: 40.06, inv: 12, year: 2015 },
  { code: 'infrastructure', name: '大同南站综合交通枢纽', lon: 113.33, lat: 40.03, inv: 25, year: 2015 },
  { code: 'infrastructure', name: '御河东西两岸城市快速路', lon: 113.34, lat: 40.1, inv: 30, year: 2014 },
  { code: 'infrastructure', name: '册田水库引水工程', lon: 113.8, lat: 40.03, inv: 14, year: 2015 },
  { code: 'infrastructure', name: '灵丘—涞源高速公路', lon: 114.35, lat: 39.38, inv: 40, year: 2015 },
  { code: 'infrastructure', name: '大同市城市地下综合管廊', lon: 113.38, lat: 40.09, inv: 35, year: 2016 },
  { code: 'social', name: '口泉乡采煤沉陷区农民安居工程', lon: 113.2, lat: 40.02, inv: 18, year: 2015 },
  { code: 'social', name: '大同市棚户区改造安置房', lon: 113.26, lat: 40.1, inv: 60, year: 2014 },
  { code: 'social', name: '大同大学新校区', lon: 113.39, lat: 40.12, inv: 15, year: 2015 },
  { code: 'social', name: '大同市第三人民医院新院区', lon: 113.36, lat: 40.07, inv: 8, year: 2015 },
  { code: 'social', name: '大同古城保护与修复工程', lon: 113.3, lat: 40.09, inv: 50, year: 2014 },
  { code: 'ecology', name: '御河生态综合治理工程', lon: 113.335, lat: 40.14, inv: 22, year: 2015 },
  { code: 'ecology', name: '桑干河湿地保护与修复工程', lon: 113.62, lat: 39.91, inv: 10, year: 2015 },
  { code: 'ecology', name: '京津风沙源治理二期(大同)', lon: 113.9, lat: 40.45, inv: 16, year: 2015 },
  { code: 'ecology', name: '恒山生态修复与旅游开发', lon: 113.73, lat: 39.66, inv: 20, year: 2016 },
  { code: 'ecology', name: '文瀛湖生态公园', lon: 113.39, lat: 40.075, inv: 9, year: 2014 },
];

/** A PV plant (registry layer pv_sites). Area follows capacity: ~2.5 ha per MW on the ground, ~1 ha per MW on roofs. */
export interface PvSite {
  code: 'ground' | 'distributed';
  name: string;
  lon: number;
  lat: number;
  capacity_mw: number;
  grid_status: '已并网' | '在建' | '已核准';
  grid_date?: string;
  on_subsidence: boolean;
}

const base = '大同采煤沉陷区国家先进技术光伏示范基地';
export const pvSites: PvSite[] = [
  // 10 ground stations on subsidence land, 500 MW in all (2015 target 50万千瓦).
  { code: 'ground', name: `${base}中广核左云100MW项目`, lon: 112.93, lat: 40.055, capacity_mw: 100, grid_status: '已并网', grid_date: '2016-06-28', on_subsidence: true },
  { code: 'ground', name: `${base}三峡新能源南郊100MW项目`, lon: 112.985, lat: 39.945, capacity_mw: 100, grid_status: '已并网', grid_date: '2016-06-30', on_subsidence: true },
  { code: 'ground', name: `${base}英利50MW项目`, lon: 113.035, lat: 40.14, capacity_mw: 50, grid_status: '已并网', grid_date: '2016-06-25', on_subsidence: true },
  { code: 'ground', name: `${base}晶科50MW项目`, lon: 113.07, lat: 40.02, capacity_mw: 50, grid_status: '已并网', grid_date: '2016-06-30', on_subsidence: true },
  { code: 'ground', name: `${base}同煤集团50MW项目`, lon: 113.02, lat: 40.05, capacity_mw: 50, grid_status: '已并网', grid_date: '2015-12-30', on_subsidence: true },
  { code: 'ground', name: `${base}中电投50MW项目`, lon: 113.0, lat: 40.1, capacity_mw: 50, grid_status: '已并网', grid_date: '2016-06-29', on_subsidence: true },
  { code: 'ground', name: `${base}华电30MW项目`, lon: 112.82, lat: 40.07, capacity_mw: 30, grid_status: '在建', on_subsidence: true },
  { code: 'ground', name: `${base}大唐30MW项目`, lon: 112.74, lat: 40.1, capacity_mw: 30, grid_status: '在建', on_subsidence: true },
  { code: 'ground', name: `${base}阳光电源20MW项目`, lon: 113.08, lat: 40.2, capacity_mw: 20, grid_status: '已并网', grid_date: '2017-03-31', on_subsidence: true },
  { code: 'ground', name: `${base}招商新能源20MW项目`, lon: 113.1, lat: 40.085, capacity_mw: 20, grid_status: '已核准', on_subsidence: true },
  // 5 distributed projects, 50 MW (2015 target 5万千瓦): roofs of parks and resettlement housing.
  { code: 'distributed', name: '大同经济技术开发区厂房屋顶分布式光伏10MW', lon: 113.41, lat: 40.025, capacity_mw: 10, grid_status: '已并网', grid_date: '2015-12-20', on_subsidence: false },
  { code: 'distributed', name: '口泉乡农民安居工程屋顶分布式光伏10MW', lon: 113.195, lat: 40.015, capacity_mw: 10, grid_status: '已并网', grid_date: '2016-05-30', on_subsidence: false },
  { code: 'distributed', name: '大同医药工业园区屋顶分布式光伏10MW', lon: 113.5, lat: 40.09, capacity_mw: 10, grid_status: '在建', on_subsidence: false },
  { code: 'distributed', name: '御东新区公共建筑屋顶分布式光伏10MW', lon: 113.38, lat: 40.095, capacity_mw: 10, grid_status: '已并网', grid_date: '2016-09-30', on_subsidence: false },
  { code: 'distributed', name: '阳高龙泉工业园区屋顶分布式光伏10MW', lon: 113.775, lat: 40.34, capacity_mw: 10, grid_status: '已核准', on_subsidence: false },
  // Ground stations outside subsidence areas, 350 MW (2015 target 35万千瓦).
  { code: 'ground', name: '阳高县罗文皂光伏电站50MW', lon: 113.92, lat: 40.28, capacity_mw: 50, grid_status: '已并网', grid_date: '2015-12-28', on_subsidence: false },
  { code: 'ground', name: '阳高县王官屯光伏电站50MW', lon: 113.64, lat: 40.25, capacity_mw: 50, grid_status: '已并网', grid_date: '2016-06-30', on_subsidence: false },
  { code: 'ground', name: '天镇县米薪关光伏电站50MW', lon: 113.99, lat: 40.32, capacity_mw: 50, grid_status: '已并网', grid_date: '2016-06-30', on_subsidence: false },
  { code: 'ground', name: '广灵县加斗光伏电站30MW', lon: 114.18, lat: 39.69, capacity_mw: 30, grid_status: '已并网', grid_date: '2015-11-30', on_subsidence: false },
  { code: 'ground', name: '广灵县南村光伏电站20MW', lon: 114.4, lat: 39.71, capacity_mw: 20, grid_status: '在建', on_subsidence: false },
  { code: 'ground', name: '浑源县沙圪坨光伏电站50MW', lon: 113.83, lat: 39.8, capacity_mw: 50, grid_status: '已并网', grid_date: '2016-12-30', on_subsidence: false },
  // Sited on basic farmland (conflict C8).
  { code: 'ground', name: '大同县倍加造光伏电站50MW', lon: 113.53, lat: 39.965, capacity_mw: 50, grid_status: '已核准', on_subsidence: false },
  { code: 'ground', name: '新荣区郭家窑光伏电站50MW', lon: 113.33, lat: 40.32, capacity_mw: 50, grid_status: '已并网', grid_date: '2017-06-30', on_subsidence: false },
];

/** An approved project site (registry layer approved_projects). */
export interface ApprovedProject extends Site {
  code: string;
  name: string;
  approval_no: string;
  approved_on: string;
  investor: string;
}

export const approvedProjects: ApprovedProject[] = [
  { code: 'industrial', name: '大同经济技术开发区汽车零部件产业园一期', lon: 113.425, lat: 40.015, w_m: 900, h_m: 600, approval_no: '同发改审批〔2014〕123号', approved_on: '2014-05-12', investor: '大同经济技术开发区管委会' },
  { code: 'industrial', name: '新能源汽车整车生产基地', lon: 113.44, lat: 40.03, w_m: 1200, h_m: 800, approval_no: '同发改审批〔2015〕56号', approved_on: '2015-03-20', investor: '比亚迪汽车工业有限公司' },
  { code: 'industrial', name: '中药饮片加工厂', lon: 113.51, lat: 40.08, w_m: 400, h_m: 300, approval_no: '同发改审批〔2014〕211号', approved_on: '2014-09-02', investor: '大同医药工业园区开发公司' },
  { code: 'industrial', name: '煤矸石综合利用建材项目', lon: 112.97, lat: 39.98, w_m: 600, h_m: 500, approval_no: '同经信审批〔2013〕88号', approved_on: '2013-11-18', investor: '同煤集团塔山循环经济园区' },
  { code: 'industrial', name: '石墨烯新材料生产线', lon: 113.405, lat: 40.012, w_m: 500, h_m: 400, approval_no: '同发改审批〔2015〕144号', approved_on: '2015-07-09', investor: '大同新材料科技有限公司' },
  // Residential project on unstable subsidence land (conflict C7).
  { code: 'residential', name: '高山镇同忻家园住宅小区', lon: 113.07, lat: 40.015, w_m: 420, h_m: 320, approval_no: '同发改审批〔2014〕305号', approved_on: '2014-12-15', investor: '大同市恒信房地产开发有限公司' },
  { code: 'residential', name: '口泉乡采煤沉陷区农民安居工程(一期)', lon: 113.2, lat: 40.02, w_m: 700, h_m: 500, approval_no: '同发改审批〔2015〕12号', approved_on: '2015-02-06', investor: '南郊区人民政府' },
  { code: 'residential', name: '御东新区文瀛湖北侧住宅小区', lon: 113.385, lat: 40.09, w_m: 500, h_m: 400, approval_no: '同发改审批〔2013〕176号', approved_on: '2013-08-21', investor: '大同市御东建设投资有限公司' },
  { code: 'residential', name: '城区棚户区改造东信小区', lon: 113.31, lat: 40.1, w_m: 450, h_m: 350, approval_no: '同发改审批〔2014〕48号', approved_on: '2014-03-11', investor: '大同市城区人民政府' },
  { code: 'residential', name: '阳高县城保障性住房', lon: 113.755, lat: 40.365, w_m: 300, h_m: 250, approval_no: '阳发改审批〔2014〕31号', approved_on: '2014-06-30', investor: '阳高县住房保障中心' },
  { code: 'residential', name: '浑源县城北棚户区改造', lon: 113.695, lat: 39.71, w_m: 350, h_m: 250, approval_no: '浑发改审批〔2015〕19号', approved_on: '2015-04-16', investor: '浑源县人民政府' },
  { code: 'public', name: '大同市第三人民医院新院区', lon: 113.36, lat: 40.07, w_m: 400, h_m: 300, approval_no: '同发改审批〔2014〕97号', approved_on: '2014-04-25', investor: '大同市卫生和计划生育委员会' },
  { code: 'public', name: '大同大学新校区', lon: 113.39, lat: 40.12, w_m: 1000, h_m: 700, approval_no: '同发改审批〔2015〕33号', approved_on: '2015-02-28', investor: '山西大同大学' },
  { code: 'public', name: '大同市政务服务中心', lon: 113.37, lat: 40.085, w_m: 250, h_m: 200, approval_no: '同发改审批〔2013〕62号', approved_on: '2013-04-10', investor: '大同市机关事务管理局' },
  { code: 'public', name: '灵丘县第一中学迁建', lon: 114.24, lat: 39.445, w_m: 350, h_m: 250, approval_no: '灵发改审批〔2015〕27号', approved_on: '2015-05-19', investor: '灵丘县教育局' },
  { code: 'infrastructure', name: '大同南站站前广场及配套道路', lon: 113.33, lat: 40.035, w_m: 600, h_m: 400, approval_no: '同发改审批〔2015〕71号', approved_on: '2015-04-02', investor: '大同市交通运输局' },
  { code: 'infrastructure', name: '大同市第二污水处理厂扩建', lon: 113.35, lat: 40.005, w_m: 400, h_m: 300, approval_no: '同发改审批〔2014〕166号', approved_on: '2014-07-14', investor: '大同市排水公司' },
  { code: 'infrastructure', name: '城区东部供热站', lon: 113.4, lat: 40.105, w_m: 250, h_m: 200, approval_no: '同发改审批〔2015〕88号', approved_on: '2015-06-05', investor: '大同市热力公司' },
  { code: 'infrastructure', name: '广灵县垃圾无害化处理场', lon: 114.3, lat: 39.74, w_m: 300, h_m: 300, approval_no: '广发改审批〔2014〕12号', approved_on: '2014-08-08', investor: '广灵县市容环卫局' },
  { code: 'energy', name: '同煤集团塔山低热值煤电厂', lon: 112.975, lat: 39.97, w_m: 800, h_m: 600, approval_no: '晋发改能源发〔2015〕302号', approved_on: '2015-05-28', investor: '同煤集团' },
  { code: 'energy', name: '大同采煤沉陷区光伏基地升压站', lon: 113.01, lat: 40.06, w_m: 200, h_m: 150, approval_no: '同发改审批〔2015〕201号', approved_on: '2015-09-17', investor: '同煤集团' },
  { code: 'energy', name: '阳高县风电场升压站', lon: 113.85, lat: 40.48, w_m: 200, h_m: 150, approval_no: '阳发改审批〔2015〕44号', approved_on: '2015-10-12', investor: '华能新能源' },
  { code: 'mining', name: '同忻矿工业场地扩建', lon: 113.08, lat: 40.03, w_m: 600, h_m: 400, approval_no: '同煤管审批〔2013〕15号', approved_on: '2013-06-20', investor: '同煤集团同忻煤矿' },
  { code: 'mining', name: '左云县鹊儿山矿整合技改', lon: 112.83, lat: 40.05, w_m: 700, h_m: 500, approval_no: '同煤管审批〔2014〕22号', approved_on: '2014-10-30', investor: '左云县鹊儿山煤业' },
  { code: 'other', name: '恒山景区游客服务中心', lon: 113.69, lat: 39.68, w_m: 300, h_m: 200, approval_no: '浑发改审批〔2014〕55号', approved_on: '2014-11-05', investor: '恒山风景名胜区管委会' },
  { code: 'other', name: '天镇县农产品物流园', lon: 114.1, lat: 40.41, w_m: 500, h_m: 350, approval_no: '天发改审批〔2015〕18号', approved_on: '2015-03-26', investor: '天镇县供销社' },
];

/**
 * Stamps: fixed places where a tiling layer is overwritten with one class, so that the deliberate
 * conflicts (server/demo/conflicts.json) exist whatever the seed. Each stamp replaces the layer's
 * features under it (the layer still tiles).
 */
export const stamps: (Site & { layer: 'landuse_plan' | 'urban_plan'; code: string; conflict: string })[] = [
  // C1: urban residential blocks on basic farmland, north-east edge of the central city.
  { conflict: 'C1', layer: 'landuse_plan', code: '010', lon: 113.395, lat: 40.115, w_m: 800, h_m: 600 },
  { conflict: 'C1', layer: 'urban_plan', code: 'R', lon: 113.395, lat: 40.115, w_m: 800, h_m: 600 },
  // C2: urban industrial blocks on basic farmland, south edge of the central city.
  { conflict: 'C2', layer: 'landuse_plan', code: '010', lon: 113.33, lat: 40.028, w_m: 1000, h_m: 500 },
  { conflict: 'C2', layer: 'urban_plan', code: 'M', lon: 113.33, lat: 40.028, w_m: 1000, h_m: 500 },
  // C3: land-use-plan construction zone on urban-plan farmland/forest (E2), east of the city.
  { conflict: 'C3', layer: 'landuse_plan', code: '030', lon: 113.44, lat: 40.1, w_m: 1000, h_m: 800 },
  { conflict: 'C3', layer: 'urban_plan', code: 'E2', lon: 113.44, lat: 40.1, w_m: 1000, h_m: 800 },
  // C6: residential blocks on the unstable subsidence of 同家梁矿, west edge of the central city.
  { conflict: 'C6', layer: 'urban_plan', code: 'R', lon: 113.207, lat: 40.06, w_m: 500, h_m: 400 },
  // C8: the 倍加造 PV station is on basic farmland.
  { conflict: 'C8', layer: 'landuse_plan', code: '010', lon: 113.53, lat: 39.965, w_m: 1600, h_m: 1000 },
];
