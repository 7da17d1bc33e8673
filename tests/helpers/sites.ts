// Project sites for the joint-review tests: the ones the demo applications use, found in the demo
// data rather than hard-coded (server/demo/applications.ts).
export { findDemoSites as findSites, squarePoints, type DemoSite as TestSite } from '../../server/demo/applications';
