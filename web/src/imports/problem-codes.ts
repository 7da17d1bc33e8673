// Short names of the import problem and warning codes (server/imports/vocabulary.ts: every code
// must have one, or the type-check fails) in both languages, for the report table. The server's
// message (English, with the details) is shown beside them; an unknown code shows as it is.
import type { ImportProblemCode, WarningCode } from '../../../server/imports/vocabulary';
import { pick, type Localized } from '../i18n/i18n';

const NAMES: Record<ImportProblemCode | WarningCode, Localized> = {
  file_empty: { zh: '文件为空', en: 'Empty file' },
  file_unreadable: { zh: '文件无法读取', en: 'Unreadable file' },
  file_too_large: { zh: '文件过大', en: 'File too large' },
  format_unknown: { zh: '无法识别的格式', en: 'Unknown format' },
  format_truncated: { zh: '文件不完整', en: 'Truncated file' },
  not_spatial: { zh: '不含空间数据', en: 'Not spatial' },
  no_features: { zh: '没有要素', en: 'No features' },
  zip_too_many_entries: { zh: '压缩包文件过多', en: 'Too many zip entries' },
  zip_too_large: { zh: '压缩包解压后过大', en: 'Zip inflates too large' },
  zip_unsafe_path: { zh: '压缩包路径不安全', en: 'Unsafe zip path' },
  zip_corrupt: { zh: '压缩包已损坏', en: 'Corrupt zip' },
  shapefile_missing_part: { zh: 'Shapefile 缺少组成文件', en: 'Shapefile part missing' },
  shapefile_record_mismatch: { zh: 'Shapefile 记录数不一致', en: 'Shapefile record mismatch' },
  geojson_invalid: { zh: 'GeoJSON 结构错误', en: 'Invalid GeoJSON' },
  geometry_missing: { zh: '缺少几何', en: 'No geometry' },
  geometry_unsupported: { zh: '不支持的几何', en: 'Unsupported geometry' },
  duplicate_id: { zh: '编号重复', en: 'Duplicate id' },
  crs_missing: { zh: '缺少坐标系', en: 'CRS missing' },
  crs_unknown: { zh: '无法识别的坐标系', en: 'Unknown CRS' },
  crs_mixed: { zh: '坐标系不一致', en: 'Mixed CRS' },
  crs_zone_mismatch: { zh: '投影带不符', en: 'Zone mismatch' },
  outside_datong: { zh: '坐标不在大同市范围内', en: 'Outside Datong' },
  encoding_unknown: { zh: '无法识别的编码', en: 'Unknown encoding' },
  csv_bad_row: { zh: 'CSV 行错误', en: 'Bad CSV row' },
  csv_bad_ring: { zh: '界址点环错误', en: 'Bad boundary ring' },
  code_unmapped: { zh: '找不到分类代码字段', en: 'No class-code field' },
  attribute_unmapped: { zh: '找不到必填字段', en: 'Required field absent' },
  code_missing: { zh: '缺少分类代码', en: 'Class code missing' },
  code_unknown: { zh: '分类代码不在标准中', en: 'Unknown class code' },
  attribute_missing: { zh: '必填属性为空', en: 'Required value missing' },
  attribute_type: { zh: '属性类型不符', en: 'Wrong attribute type' },
  geometry_type: { zh: '几何类型不符', en: 'Wrong geometry type' },
  geometry_empty: { zh: '几何为空', en: 'Empty geometry' },
  geometry_invalid: { zh: '几何无效', en: 'Invalid geometry' },
  geometry_unreadable: { zh: '几何无法读取或转换', en: 'Unreadable geometry' },
  properties_ignored: { zh: '未导入的属性', en: 'Properties ignored' },
  code_guessed: { zh: '推断的分类代码字段', en: 'Class-code field guessed' },
  crs: { zh: '坐标系提示', en: 'CRS note' },
};

/** The short name of a problem code in the interface language, or undefined for an unknown code. */
export function problemName(code: string): string | undefined {
  const n = (NAMES as Record<string, Localized | undefined>)[code];
  return n ? pick(n) : undefined;
}
