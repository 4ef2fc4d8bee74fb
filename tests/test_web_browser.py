#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The web view in a real browser (issue 15): Debian's chromium, headless,
driven by python3-selenium through chromium-driver, against fieldwatchd
watching the simulated 27-site field.

- the page lists 27 sites, in site order;
- a camera stopped in the field turns its tile to fault state within
  fail_after × interval + 2 s, without a reload (Server-Sent Events), and
  the open fault appears with its contract clock, which counts down;
- a deferral approved with fieldwatchctl shows the new due and who approved;
- ?lang=en is English; on a phone's width nothing runs off the side, and it
  prints on a few A4 sheets;
- with JavaScript off the page is complete and refreshes itself (meta);
- a screenshot with the open fault is saved as $BUILD/web.png (docs/web.png,
  the README's, is a copy of one).

Run from the repository root:
    BUILD=build FW_LAB_NET=7 /usr/bin/python3 tests/test_web_browser.py
"""

import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from sim.field import Field  # noqa: E402

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import (StaleElementReferenceException, NoSuchElementException,
                                            WebDriverException)
except ImportError:                    # make deps installs python3-selenium
    webdriver = None

NOW = "2026-11-25T10:00:00"           # Wednesday morning: the onsite due is today
FAIL_AFTER, INTERVAL = 3, 1.0          # config/lab.yaml's fail_after; fast_probes' interval
# Under the build directory (a test run changes no tracked file); the README's
# docs/web.png is a copy of one.
SCREENSHOT = os.path.join(fwtest.BUILD, "web.png")


def browser(javascript=True):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-proxy-server", "--window-size=1280,1800", "--lang=ja",
              "--disable-extensions", "--no-first-run"):
        o.add_argument(a)
    if not javascript:
        o.add_experimental_option("prefs",
                                  {"profile.managed_default_content_settings.javascript": 2})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(30)
    return d


def edit(port):
    def f(data):
        fwtest.fast_probes(data)
        data["contract"]["title"] = "防犯カメラ保守点検業務委託（試験）"
        data["http"] = {"listen": f"127.0.0.1:{port}"}
    return f



def gone(e):
    """Whether a WebDriverException is an element the page replaced under the
    read (a refresh between finding it and reading it): ChromeDriver reports
    some of those as an inspector error, not as a stale element."""
    return "does not belong to the document" in str(e) or "No node with given id" in str(e)

class Browser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if webdriver is None:
            raise unittest.SkipTest("python3-selenium is not installed (make deps)")
        for p in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
            if not os.path.exists(p):
                raise unittest.SkipTest(f"{p} is missing (make deps)")
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-browser-")
        # Removed last (cleanups run in reverse): the daemon's log is read before.
        cls.addClassCleanup(lambda: None if os.environ.get("KEEP_TEST_DIRS")
                            else shutil.rmtree(cls.tmp, ignore_errors=True))
        cls.port = fwtest.free_port()
        cls.base = f"http://127.0.0.1:{cls.port}"
        cls.config = fwtest.lab_config(os.path.join(cls.tmp, "fieldwatch.yaml"),
                                       edit(cls.port))
        cls.field = Field(cls.config, fwtest.CREDENTIALS, os.path.join(cls.tmp, "field"))
        cls.field.up()
        cls.addClassCleanup(cls.field.down)
        cls.daemon = fwtest.Daemon(cls.tmp, cls.config, extra_args=["--pretend-now", NOW])
        cls.addClassCleanup(cls.stop_daemon)
        cls.daemon.messages("READY=1", timeout=30)
        fwtest.wait_for(lambda: cls.up() >= 55, 60, 0.5, "55 devices up")
        cls.driver = browser()
        cls.addClassCleanup(cls.driver.quit)

    @classmethod
    def stop_daemon(cls):
        # A clean exit (under SANITIZE=1: no sanitizer report, no leak).
        rc = cls.daemon.stop()
        log = cls.daemon.log()
        assert rc == 0 and "Sanitizer" not in log and "runtime error" not in log, \
            f"fieldwatchd exited with {rc}: {log[-3000:]}"


    @classmethod
    def up(cls):
        r = fwtest.ctl("status", "--json", state_dir=cls.daemon.state_dir, config=cls.config)
        import json
        return sum(d["state"] == "up" for d in json.loads(r.stdout)) if r.returncode == 0 else 0

    def tile_state(self, site):
        return self.text(lambda d: d.find_element(By.ID, f"site-{site}").get_attribute(
            "data-state"))

    @staticmethod
    def text(read, driver=None):
        """read(driver), again when the live update (or a refresh) replaced
        the element between finding it and reading it (bounded)."""
        d = driver or Browser.driver
        for _ in range(50):
            try:
                return read(d)
            except (StaleElementReferenceException, NoSuchElementException):
                time.sleep(0.1)
            except WebDriverException as e:
                if not gone(e):
                    raise
                time.sleep(0.1)
        return read(d)

    def wait(self, predicate, timeout, what):
        def safe():
            try:
                return predicate()
            except (StaleElementReferenceException, NoSuchElementException):
                return None
            except WebDriverException as e:
                if not gone(e):
                    raise
                return None
        return fwtest.wait_for(safe, timeout, 0.1, what)

    def test_1_live(self):
        d = self.driver
        d.get(self.base + "/")
        # Read in one go: a live update may replace the elements any time.
        ids, texts = d.execute_script(
            "var t = Array.from(document.querySelectorAll('.tiles a.tile'));"
            "return [t.map(function (e) { return e.id; }),"
            "        t.map(function (e) { return e.innerText; })];")
        self.assertEqual(ids, [f"site-{i:02d}" for i in range(1, 28)])
        self.assertIn("カメラ: 正常", texts[4])
        self.assertEqual(self.tile_state("05"), "ok")
        # The live stream is open; a mark shows the page is never reloaded.
        self.wait(lambda: d.find_element(By.TAG_NAME, "body").get_attribute("data-live")
                  == "yes", 10, "the event stream open")
        self.assertFalse(d.find_element(By.ID, "not-live").is_displayed())
        d.execute_script("window.fieldwatchMark = 42;")

        t0 = time.monotonic()
        self.field.camera("05").fault("down")
        self.wait(lambda: self.tile_state("05") == "bad", 20, "tile 05 in fault state")
        took = time.monotonic() - t0
        self.assertEqual(d.execute_script("return window.fieldwatchMark;"), 42, "reloaded")
        self.assertLessEqual(took, FAIL_AFTER * INTERVAL + 2, f"took {took:.1f} s")
        self.assertIn("カメラ: 停止", self.text(lambda d: d.find_element(By.ID, "site-05").text))

        # The fault itself (raised after fail_after probes), with its clock.
        self.wait(lambda: [r for r in d.find_elements(By.CSS_SELECTOR, "tr.fault")
                           if r.get_attribute("data-device") == "05-camera"], 20,
                  "the open fault listed")
        self.assertIn("05-camera", self.text(lambda d: d.find_element(By.ID, "faults").text))
        first = self.text(lambda d: d.find_element(By.CSS_SELECTOR, "tr.fault .clock").text)
        self.assertTrue(first.startswith("残り "), first)
        self.wait(lambda: d.find_element(By.CSS_SELECTOR, "tr.fault .clock").text != first, 5,
                  "the clock counting down")
        self.assertEqual(d.execute_script("return window.fieldwatchMark;"), 42, "reloaded")
        d.save_screenshot(SCREENSHOT)
        self.assertGreater(os.path.getsize(SCREENSHOT), 10000)

    def test_2_deferral(self):
        import json
        d = self.driver
        d.get(self.base + "/")
        d.execute_script("window.fieldwatchMark = 7;")
        r = fwtest.ctl("faults", "--open", "--json", state_dir=self.daemon.state_dir,
                       config=self.config)
        faults = [f for f in json.loads(r.stdout) if f["device"] == "05-camera"]
        if not faults:
            self.skipTest("runs after test_1_live (the fault of camera 05)")
        fault = faults[0]
        r = fwtest.ctl("defer", str(fault["id"]), "--approved-by", "監督員 山田",
                       "--reason", "部品待ち", state_dir=self.daemon.state_dir,
                       config=self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = fwtest.ctl("faults", "--open", "--json", state_dir=self.daemon.state_dir,
                       config=self.config)
        due = [f for f in json.loads(r.stdout) if f["id"] == fault["id"]][0]["due"]
        self.assertNotEqual(due, fault["due"])
        shown = f"{due[:10]} {due[11:16]}"
        self.wait(lambda: "監督員 山田" in d.find_element(By.ID, "faults").text, 10,
                  "the approval on the page")
        self.assertIn(shown, self.text(lambda d: d.find_element(By.ID, "faults").text))
        self.assertEqual(d.execute_script("return window.fieldwatchMark;"), 7, "reloaded")

    def test_3_english(self):
        d = self.driver
        d.get(self.base + "/?lang=en")
        self.assertEqual(d.find_element(By.TAG_NAME, "html").get_attribute("lang"), "en")
        self.assertIn("Open faults", d.page_source)
        self.assertIn("Router: up", self.text(lambda d: d.find_element(By.ID, "site-01").text))
        d.get(self.base + "/site/05?lang=en")
        self.assertEqual(len(d.find_elements(By.CSS_SELECTOR, "#availability rect.day")), 30)

    def test_5_phone_and_a4(self):
        """On a phone's width nothing runs off the side and the tiles make two
        columns; printed on A4 the page takes a few sheets."""
        import base64
        d = browser()
        try:
            d.set_window_size(390, 844)
            d.get(self.base + "/")
            width = d.execute_script("return window.innerWidth;")
            self.assertLessEqual(d.execute_script(
                "return document.documentElement.scrollWidth;"), width + 1)
            xs = d.execute_script(
                "return Array.from(document.querySelectorAll('.tiles a.tile'))"
                ".map(function (e) { return Math.round(e.getBoundingClientRect().left); });")
            self.assertEqual(len(set(xs)), 2, xs)
            from selenium.webdriver.common.print_page_options import PrintOptions
            o = PrintOptions()
            o.page_width, o.page_height = 21.0, 29.7     # A4, in cm
            pdf = base64.b64decode(d.print_page(o))
            self.assertTrue(pdf.startswith(b"%PDF"))
            pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
            self.assertTrue(1 <= pages <= 3, pages)
        finally:
            d.quit()

    def test_4_no_javascript(self):
        d = browser(javascript=False)
        try:
            d.get(self.base + "/")
            self.assertEqual(len(d.find_elements(By.CSS_SELECTOR, ".tiles a.tile")), 27)
            # The script did not run (no live stream), the page refreshes itself.
            self.assertIsNone(self.text(lambda d: d.find_element(By.TAG_NAME, "body")
                                        .get_attribute("data-live"), d))
            self.assertIn('http-equiv="refresh"', d.page_source)
            before = self.text(lambda d: d.find_element(By.CSS_SELECTOR, "main p.muted").text, d)
            self.wait(lambda: d.find_element(By.CSS_SELECTOR, "main p.muted").text != before,
                      45, "the meta refresh")
        finally:
            d.quit()

    def test_6_not_live(self):
        """With every live place taken, the page says it is not live (the
        server told it to come back in 30 s: a browser gives up for good on an
        error status), and is live again once a place is free."""
        import socket
        clients = []
        d = self.driver
        try:
            for i in range(64):     # 16 from each of four addresses: the limit per address
                c = socket.create_connection(
                    ("127.0.0.1", self.port), timeout=10,
                    source_address=(f"127.{fwtest.LAB_NET}.9.{20 + i // 16}", 0))
                clients.append(c)
                c.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            import json
            import urllib.request
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            fwtest.wait_for(lambda: json.loads(opener.open(self.base + "/healthz", timeout=5)
                                               .read())["live_clients"] == 64,
                            10, 0.2, "64 live clients")
            d.get(self.base + "/")
            self.wait(lambda: d.find_element(By.TAG_NAME, "body").get_attribute("data-live")
                      == "no", 10, "the page marked not live")
            banner = d.find_element(By.ID, "not-live")
            self.wait(lambda: banner.is_displayed(), 5, "the not-live banner shown")
            self.assertIn("ライブ更新が止まっています", banner.text)
            updates = int(d.find_element(By.TAG_NAME, "body").get_attribute("data-updates")
                          or 0)
        finally:
            for c in clients:
                c.close()
        # The browser comes back after the 30 s it was told; live again, and
        # the page read anew (what it missed).
        self.wait(lambda: d.find_element(By.TAG_NAME, "body").get_attribute("data-live")
                  == "yes", 45, "the page live again")
        self.assertFalse(d.find_element(By.ID, "not-live").is_displayed())
        self.wait(lambda: int(d.find_element(By.TAG_NAME, "body").get_attribute("data-updates")
                              or 0) > updates, 10, "the page read again")


if __name__ == "__main__":
    unittest.main(verbosity=2)
