// Types of Vite's import suffixes (`?url`) and CSS imports, which the root tsconfig's "types" leaves out.
/// <reference types="vite/client" />
