"""What the browser tests share: a headless Chromium that reaches only
127.0.0.1 (and the addresses a test names), waits, screenshots, and the VS
Code workbench's integrated terminal.

Import it after checking that selenium is installed (it imports selenium)."""
import os
import shutil
import time

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


def browser():
    o = Options()
    o.binary_location = shutil.which("chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--no-first-run", "--disable-default-apps", "--disable-domain-reliability",
              "--no-pings", "--disable-features=OptimizationHints,MediaRouter,Translate",
              # Anything not on loopback goes to a closed port: nothing leaves.
              "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"):
        o.add_argument(a)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=o)


def wait(d, fn, timeout=10):
    """Polls fn until it returns something true. The pages are live: an
    element fn found may be redrawn before fn reads it (stale), and it is
    then found again on the next poll (seen in CI: the YAML view of an object
    whose status changed)."""
    return WebDriverWait(d, timeout, poll_frequency=0.02,
                         ignored_exceptions=(NoSuchElementException,
                                             StaleElementReferenceException)).until(lambda _: fn())


def shot(d, folder, name):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name + ".png")
    d.save_screenshot(path)
    return path


def vscode_terminal(d, timeout=90):
    """Waits for the VS Code workbench in the current tab, opens the
    integrated terminal (Ctrl+`) and returns the element that takes its
    keys, and the seconds the workbench took to render."""
    t = time.time()
    wait(d, lambda: d.find_elements(By.CSS_SELECTOR, ".monaco-workbench"), timeout)
    rendered = time.time() - t
    time.sleep(5)  # the workbench finishes its start-up before it takes keys
    ActionChains(d).key_down(Keys.CONTROL).send_keys("`").key_up(Keys.CONTROL).perform()
    term = wait(d, lambda: d.find_elements(By.CSS_SELECTOR, ".xterm-helper-textarea"), 60)[0]
    time.sleep(2)
    return term, rendered
