import t from 'tap';
import { readImageVersion } from '../../src/kernel/bzimage.js';
import { compareReleases, parseUtsRelease } from '../../src/kernel/release.js';
import { readVermagic, vermagicRelease } from '../../src/module/vermagic.js';
import { fixtureBytes } from '../fixtures.js';

t.test('bzImage: the release from the setup header of the real stock kernel', async (t) => {
  const v = readImageVersion(fixtureBytes('bzimage-6.1.0-57-amd64.head'));
  t.equal(v.release, '6.1.0-57-amd64');
  t.match(v.banner, /^6\.1\.0-57-amd64 \(debian-kernel@lists\.debian\.org\) #1 SMP PREEMPT_DYNAMIC Debian 6\.1\./);
  t.throws(() => readImageVersion(Buffer.alloc(1024)), /not an x86 bzImage/);
});

t.test('kbuild tree release and ordering', async (t) => {
  t.equal(parseUtsRelease('#define UTS_RELEASE "6.1.0-57-amd64"\n'), '6.1.0-57-amd64');
  t.throws(() => parseUtsRelease('nothing'), /UTS_RELEASE/);
  t.ok(compareReleases('6.1.0-57-amd64', '6.1.0-9-amd64') > 0, '57 is newer than 9');
});

t.test('vermagic from .modinfo strings', async (t) => {
  const ko = Buffer.concat([Buffer.from('\0license=GPL\0vermagic=6.1.0-57-amd64 SMP preempt mod_unload modversions \0name=refprobe\0')]);
  t.equal(readVermagic(ko), '6.1.0-57-amd64 SMP preempt mod_unload modversions ');
  t.equal(vermagicRelease(readVermagic(ko)), '6.1.0-57-amd64');
  t.throws(() => readVermagic(Buffer.from('plain')), /no vermagic/);
});
